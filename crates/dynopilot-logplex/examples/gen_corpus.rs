//! Writes a generated Heroku log corpus to a file, for benchmarks and large-file tests:
//! `cargo run --release -p dynopilot-logplex --example gen_corpus -- lines 1000000000 /tmp/big.log`
//! Arguments: `drain|lines`, target size in bytes, output path, optional requests per second,
//! optional incident period in seconds.

use std::io::Write;

use dynopilot_logplex::corpus::{self, Corpus, CorpusConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [format, bytes, path, rest @ ..] = args.as_slice() else {
        return Err("usage: gen_corpus drain|lines BYTES PATH [RPS] [PERIOD_SECONDS]".into());
    };
    let target: u64 = bytes.parse()?;
    let mut config = CorpusConfig::default();
    if let Some(rps) = rest.first() {
        config.requests_per_second = rps.parse()?;
    }
    if let Some(period) = rest.get(1) {
        config.period_seconds = period.parse()?;
    }
    let mut corpus = Corpus::new(config);
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut written = 0u64;
    while written < target {
        let entries = corpus.next_second();
        let bytes = if format == "drain" {
            let mut out = Vec::new();
            corpus::write_drain(&entries, &mut out);
            out
        } else {
            let mut out = String::new();
            corpus::write_lines(&entries, &mut out);
            out.into_bytes()
        };
        file.write_all(&bytes)?;
        written += bytes.len() as u64;
    }
    file.flush()?;
    eprintln!("wrote {written} bytes to {path}");
    Ok(())
}
