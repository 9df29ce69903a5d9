//! The shipped `dynopilot.example.toml`: valid, and documents exactly the keys the code knows.
