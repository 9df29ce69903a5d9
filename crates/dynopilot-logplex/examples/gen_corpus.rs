//! Writes a generated Heroku log corpus to a file, for benchmarks and large-file tests:
//! `cargo run --release -p dynopilot-logplex --example gen_corpus -- lines 1000000000 /tmp/big.log`
//! Arguments: `drain|lines|forms`, target size in bytes, output path, optional requests per
//! second, optional incident period in seconds. `forms` writes every form of `forms::every_form`
//! in every text layout in turn (the mixed sample `analyze` must read without an unknown line).

use std::io::Write;

use dynopilot_logplex::corpus::{self, Corpus, CorpusConfig};
use dynopilot_logplex::forms::every_form;
use dynopilot_logplex::layout::{self, LAYOUTS};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [format, bytes, path, rest @ ..] = args.as_slice() else {
        return Err("usage: gen_corpus drain|lines|forms BYTES PATH [RPS] [PERIOD_SECONDS]".into());
    };
    if format == "forms" {
        return write_forms(bytes.parse()?, path);
    }
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

fn write_forms(target: u64, path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let start = CorpusConfig::default().start;
    let mut out = String::new();
    let mut seed = 0u64;
    let mut index = 0usize;
    while (out.len() as u64) < target {
        for (_, entry) in every_form(start, seed) {
            layout::push(&mut out, LAYOUTS[index % LAYOUTS.len()], &entry.record());
            index += 1;
        }
        seed += 1;
    }
    std::fs::write(path, &out)?;
    eprintln!("wrote {} bytes to {path}", out.len());
    Ok(())
}
