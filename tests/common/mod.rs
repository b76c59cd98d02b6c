//! Helpers shared by the integration tests (the CLI tests `tests/cli.rs`, `tests/model_sources.rs`
//! and the model tests that need SmolLM2 or the GPT-2 tokenizer):
//! a sandbox (temporary folder with its own working directory and an empty Hugging Face
//! home, offline), running the `gpt2-explorer` binary in it, synthetic checkpoints made
//! by the CLI itself, and checks on error output.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `gpt2-explorer` binary Cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_gpt2-explorer");

/// The committed tiny checkpoint (vocab 512, transformers layout, no tokenizer files).
pub fn tiny_hf_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parity/tiny-hf")
}

/// The GPT-2 tokenizer files fetched by `make setup`; fails loudly when they are missing.
pub fn tokenizer_dir() -> PathBuf {
    let dir = gpt2_explorer::gpt2_tokenizer_dir();
    for f in ["vocab.json", "merges.txt"] {
        assert!(
            dir.join(f).is_file(),
            "the GPT-2 tokenizer file {} is missing: run `make setup` first (it fetches data/cache/gpt2-tokenizer)",
            dir.join(f).display()
        );
    }
    dir
}

/// SmolLM2-135M-Instruct from `data/cache/smollm2` (fetched by `make setup`); fails loudly
/// when it is missing.
pub fn smollm2() -> gpt2_explorer::LoadedModel {
    let p = gpt2_explorer::data_cache_dir().join(gpt2_explorer::source::SMOLLM2_GGUF);
    assert!(p.is_file(), "{} is missing: run `make setup`", p.display());
    gpt2_explorer::LoadedModel::load("smollm2", true).unwrap()
}

/// A temporary folder for one test: `cwd/` (the binary's working directory) and `hf/`
/// (its HF_HOME, empty), plus whatever the test makes under `root`.
pub struct Sandbox {
    pub tmp: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        tokenizer_dir();
        let tmp = tempfile::Builder::new()
            .prefix("gpt2-explorer-test")
            .tempdir()
            .expect("a temporary folder");
        std::fs::create_dir_all(tmp.path().join("cwd")).unwrap();
        std::fs::create_dir_all(tmp.path().join("hf")).unwrap();
        Sandbox { tmp }
    }

    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    pub fn hf_home(&self) -> PathBuf {
        self.path("hf")
    }

    /// The binary with this sandbox's environment: offline, HF_HOME in the sandbox, no
    /// other hub-cache variables, working directory `cwd/`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .current_dir(self.path("cwd"))
            .env("HF_HUB_OFFLINE", "1")
            .env("HF_HOME", self.hf_home())
            .env_remove("HF_HUB_CACHE")
            .env_remove("HUGGINGFACE_HUB_CACHE")
            .env_remove("HF_ENDPOINT")
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("the gpt2-explorer binary runs")
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &Path)]) -> Output {
        let mut c = self.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("the gpt2-explorer binary runs")
    }

    /// Runs with `stdin` as standard input.
    pub fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        {
            let mut input = child.stdin.take().unwrap();
            // The binary may exit before reading everything; a broken pipe here is fine.
            let _ = input.write_all(stdin);
        }
        child.wait_with_output().expect("the binary finishes")
    }

    /// Writes the small synthetic checkpoint (V=50257, P=128, C=64, L=2, GPT-2 tokenizer)
    /// into `rel` with the CLI's own `synthetic` subcommand; returns its path.
    pub fn synthetic_small(&self, rel: &str) -> PathBuf {
        let dir = self.path(rel);
        let out = self.run(&["synthetic", "--size", "small", "--out", dir.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "`synthetic --size small` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for f in ["config.json", "model.safetensors", "vocab.json", "merges.txt"] {
            assert!(dir.join(f).is_file(), "synthetic checkpoint lacks {f}");
        }
        dir
    }

    /// Every file under the sandbox with its size and contents' hash, to show that a
    /// failed command created, removed or changed nothing.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, (u64, u64)> {
        let mut out = BTreeMap::new();
        walk(self.root(), self.root(), &mut out);
        out
    }
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, (u64, u64)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        let rel = p.strip_prefix(root).unwrap().to_path_buf();
        if meta.is_dir() {
            out.insert(rel, (0, 0));
            walk(root, &p, out);
        } else if meta.file_type().is_symlink() {
            out.insert(rel, (1, 1));
        } else {
            out.insert(rel, (meta.len(), fnv(&std::fs::read(&p).unwrap())));
        }
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A failed run: non-zero exit, no panic, exactly one stderr line starting `error:` that
/// contains every one of `needles` (case-insensitive); returns that line.
#[track_caller]
pub fn assert_one_line_error(o: &Output, needles: &[&str]) -> String {
    let err = stderr(o);
    assert!(
        !o.status.success(),
        "expected a failure, got success; stdout: {}; stderr: {err}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(
        o.status.code().is_some(),
        "killed by a signal, not a clean exit: {:?}; stderr: {err}",
        o.status
    );
    assert!(!err.contains("panicked"), "the binary panicked: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected exactly one line on stderr, got {}: {err:?}",
        lines.len()
    );
    let line = lines[0];
    assert!(
        line.starts_with("error: "),
        "the stderr line does not start with `error: `: {line:?}"
    );
    assert!(line.len() > "error: ".len() + 10, "the error says too little: {line:?}");
    let lower = line.to_lowercase();
    for n in needles {
        assert!(
            lower.contains(&n.to_lowercase()),
            "the error does not mention {n:?}: {line}"
        );
    }
    assert!(
        o.stdout.is_empty(),
        "a failed run printed to stdout: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    line.to_string()
}

/// A successful run's stdout parsed as JSON.
#[track_caller]
pub fn json_ok(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "the command failed: {}", stderr(o));
    assert!(!stderr(o).contains("panicked"));
    serde_json::from_str(stdout(o).trim())
        .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {}", stdout(o)))
}

/// Copies the files (not subfolders) of `from` into a new folder `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}
