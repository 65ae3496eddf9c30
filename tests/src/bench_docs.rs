//! Benchmark results in docs/benchmarks.md: each bench writes named sections between markers, so
//! a later run of the same configuration replaces its section and leaves the others alone.

use std::path::Path;

const BEGIN: &str = "<!-- anola-bench:begin ";
const END: &str = "<!-- anola-bench:end ";

/// Writes `section` into the document under `name`, replacing a section of the same name;
/// `header` starts a document that does not exist yet.
pub fn write_section(path: &Path, name: &str, section: &str, header: &str) -> Result<(), String> {
    let existing = std::fs::read_to_string(path).unwrap_or_default();
    let begin = format!("{BEGIN}{name} -->");
    let end = format!("{END}{name} -->");
    let block = format!("{begin}\n{}\n{end}", section.trim_end());
    let doc = match (existing.find(&begin), existing.find(&end)) {
        (Some(b), Some(e)) if e > b => format!("{}{block}{}", &existing[..b], &existing[e + end.len()..]),
        _ if existing.trim().is_empty() => format!("{header}\n{block}\n"),
        _ => format!("{}\n\n{block}\n", existing.trim_end()),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let tmp = path.with_extension("md.tmp");
    std::fs::write(&tmp, doc).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `--name N` from the command line, or `default` (benches that take a few numeric options).
pub fn numeric_arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
