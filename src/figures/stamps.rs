//! Staleness: a figure's stamp (`<out>/.stamps/<id>.json`) holds a hash of everything
//! that can change it — its id and parameters, its model's files (name, path, sizes,
//! modification times) and the whole source of the program (every file under `src/`,
//! `Cargo.lock`, and `scripts/fetch-corpora.sh`, which pins the corpora). A figure is
//! stale when the hash differs or an output is missing. Hashing all of `src/` instead of
//! a hand-written list per figure means no edit can slip through: editing
//! `src/sampling.rs` makes the sampled figures stale, and with them every other figure.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::source::{ModelFiles, ModelFormat};

/// What is written beside a figure's outputs once they are complete.
#[derive(Serialize, Deserialize)]
pub(crate) struct Stamp {
    pub key: String,
    pub model: Option<String>,
    pub params: Map<String, Value>,
}

/// The repository the binary was built from: its `src/` is what the stamps hash.
pub fn default_source_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Files outside `src/` that change figures: the lock file (dependency versions) and the
/// script that pins the corpora.
const EXTRA_SOURCES: &[&str] = &["Cargo.lock", "scripts/fetch-corpora.sh"];

/// One hash of every source file under `root/src` (by relative path and content, in
/// path order) and of [`EXTRA_SOURCES`].
pub fn source_hash(root: &Path) -> Result<String> {
    let mut files = Vec::new();
    collect(&root.join("src"), &mut files).map_err(|e| Error::Sources {
        root: root.to_path_buf(),
        source: e,
    })?;
    files.sort();
    files.extend(EXTRA_SOURCES.iter().map(|p| root.join(p)));
    let mut h = Sha256::new();
    for f in files {
        let bytes = std::fs::read(&f).map_err(|e| Error::Sources {
            root: root.to_path_buf(),
            source: std::io::Error::new(e.kind(), format!("{}: {e}", f.display())),
        })?;
        h.update(f.strip_prefix(root).unwrap_or(&f).to_string_lossy().as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(hex(h))
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

fn hex(h: Sha256) -> String {
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The identity of a model's files, cheap to compute (no weights are read): the name,
/// the path, and each file's size and modification time.
pub(crate) fn model_fingerprint(files: &ModelFiles) -> String {
    let paths: Vec<PathBuf> = match files.format {
        ModelFormat::Gguf => vec![files.path.clone()],
        ModelFormat::Folder => vec![files.path.join("config.json"), files.path.join("model.safetensors")],
    };
    let mut s = format!("{}|{}", files.name, files.path.display());
    for p in paths {
        if let Ok(m) = std::fs::metadata(&p) {
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            s += &format!("|{}:{}:{}", p.display(), m.len(), mtime);
        }
    }
    s
}

/// The stamp key of one figure.
pub(crate) fn key(id: &str, params: &Map<String, Value>, model: Option<&str>, sources: &str) -> String {
    let mut h = Sha256::new();
    h.update(id.as_bytes());
    h.update(Value::Object(params.clone()).to_string().as_bytes());
    h.update(model.unwrap_or("-").as_bytes());
    h.update(sources.as_bytes());
    hex(h)
}

pub(crate) fn path(out: &Path, id: &str) -> PathBuf {
    out.join(".stamps").join(format!("{id}.json"))
}

/// The stamp of figure `id`; a missing or corrupt stamp just means "rebuild".
pub(crate) fn read(out: &Path, id: &str) -> Option<Stamp> {
    serde_json::from_str(&std::fs::read_to_string(path(out, id)).ok()?).ok()
}

pub(crate) fn write(out: &Path, id: &str, stamp: &Stamp) -> Result<()> {
    let text = serde_json::to_string_pretty(stamp).map_err(|e| Error::io(path(out, id), e.into()))?;
    crate::io::write_atomic(&path(out, id), text.as_bytes())
}
