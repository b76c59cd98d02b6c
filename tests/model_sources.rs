//! Where `--model` finds a model: a local folder laid out like a hub snapshot, and the
//! standard Hugging Face cache (`$HF_HOME/hub`, `$HF_HUB_CACHE`), under the current repo
//! name (`models--openai-community--gpt2`) or the legacy one (`models--gpt2`), with
//! files as symlinks into `blobs/` as the hub's own tools write them. All offline.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_one_line_error, json_ok, Sandbox};
use gpt2_explorer::source::ModelSpec;
use gpt2_explorer::Error;
use serde_json::Value;

const COMMIT: &str = "607a30d783dfa663caf39e06633721c8d4cfcd7e";
const PROMPT: &str = "The best thing about AI is its ability to";

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Lays out the checkpoint folder `src` as the HF cache does under `hub`:
/// `{folder}/refs/main` holding `refs_main`, `{folder}/blobs/<hash>` with the weights and
/// config, and `{folder}/snapshots/{COMMIT}/` with `model.safetensors` and `config.json`
/// as relative symlinks into `blobs/` and the tokenizer files as plain files.
/// Returns the snapshot folder.
fn hub_cache(hub: &Path, folder: &str, src: &Path, refs_main: Option<&str>) -> PathBuf {
    let repo = hub.join(folder);
    let snap = repo.join("snapshots").join(COMMIT);
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    if let Some(r) = refs_main {
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), r).unwrap();
    }
    for (f, blob) in [
        (
            "model.safetensors",
            "4f1ecd2d3b4f5d0a8e7c6b5a49382716a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0",
        ),
        ("config.json", "10c66461e4c109d7c8ad5d37b5e8e3d2a1b0c9f8"),
    ] {
        std::fs::copy(src.join(f), repo.join("blobs").join(blob)).unwrap();
        std::os::unix::fs::symlink(Path::new("../../blobs").join(blob), snap.join(f)).unwrap();
    }
    for f in ["vocab.json", "merges.txt"] {
        std::fs::copy(src.join(f), snap.join(f)).unwrap();
    }
    snap
}

fn next_token(sb: &Sandbox, model: &str, env: &[(&str, &Path)]) -> Value {
    json_ok(&sb.run_env(&["next-token", "--top", "5", "--json", "--model", model, PROMPT], env))
}

/// Removes `model` from a next-token JSON and returns it.
fn without_model(mut v: Value) -> (String, Value) {
    let name = v.as_object_mut().unwrap().remove("model").unwrap();
    (name.as_str().unwrap().to_string(), v)
}

/// What `--model <folder>` gives for the synthetic checkpoint: the reference.
fn reference(sb: &Sandbox, dir: &Path) -> Value {
    let (name, v) = without_model(next_token(sb, p(dir), &[]));
    assert_eq!(name, p(dir));
    assert_eq!(v["top"].as_array().unwrap().len(), 5);
    v
}

#[test]
fn a_folder_laid_out_like_a_hub_snapshot() {
    let sb = Sandbox::new();
    let src = sb.synthetic_small("src");
    let want = reference(&sb, &src);
    let snap = hub_cache(
        &sb.path("elsewhere"),
        "models--openai-community--gpt2",
        &src,
        Some(COMMIT),
    );
    let (name, got) = without_model(next_token(&sb, p(&snap), &[]));
    assert_eq!(name, p(&snap));
    assert_eq!(got, want);
}

#[test]
fn hub_name_from_hf_home_cache() {
    let sb = Sandbox::new();
    let src = sb.synthetic_small("src");
    let want = reference(&sb, &src);
    hub_cache(
        &sb.hf_home().join("hub"),
        "models--openai-community--gpt2",
        &src,
        Some(COMMIT),
    );
    for model in ["gpt2", "openai-community/gpt2"] {
        let (name, got) = without_model(next_token(&sb, model, &[]));
        assert_eq!(name, model);
        assert_eq!(got, want, "--model {model} differs from --model <folder>");
    }
    // `tokens` and `generate` find it the same way.
    let v = json_ok(&sb.run(&["tokens", "--json", "--model", "gpt2", "Hello world!"]));
    assert_eq!(v["ids"], serde_json::json!([15496, 995, 0]));
    let a = json_ok(&sb.run(&["generate", "--json", "--max-new-tokens", "5", "--model", "gpt2", PROMPT]));
    let b = json_ok(&sb.run(&[
        "generate",
        "--json",
        "--max-new-tokens",
        "5",
        "--model",
        p(&src),
        PROMPT,
    ]));
    assert_eq!(a["generated_ids"], b["generated_ids"]);
    assert_eq!(a["model"], "gpt2");
}

#[test]
fn hub_name_from_the_legacy_cache_name() {
    let sb = Sandbox::new();
    let src = sb.synthetic_small("src");
    let want = reference(&sb, &src);
    hub_cache(&sb.hf_home().join("hub"), "models--gpt2", &src, Some(COMMIT));
    let (name, got) = without_model(next_token(&sb, "gpt2", &[]));
    assert_eq!(name, "gpt2");
    assert_eq!(got, want);
}

#[test]
fn hub_name_from_hf_hub_cache() {
    // HF_HUB_CACHE names the hub folder itself (no `hub/` below it) and wins over HF_HOME.
    let sb = Sandbox::new();
    let src = sb.synthetic_small("src");
    let want = reference(&sb, &src);
    let custom = sb.path("custom-cache");
    hub_cache(&custom, "models--openai-community--gpt2", &src, Some(COMMIT));
    let (name, got) = without_model(next_token(&sb, "gpt2", &[("HF_HUB_CACHE", &custom)]));
    assert_eq!(name, "gpt2");
    assert_eq!(got, want);
    // Without HF_HUB_CACHE the (empty) HF_HOME is searched, and the error says where.
    let out = sb.run(&["next-token", "--model", "gpt2", PROMPT]);
    assert_one_line_error(&out, &[p(&sb.hf_home().join("hub")), "HF_HOME"]);
    // The older variable name works too.
    let (_, got) = without_model(next_token(&sb, "gpt2", &[("HUGGINGFACE_HUB_CACHE", &custom)]));
    assert_eq!(got, want);
}

#[test]
fn refs_main_with_a_trailing_newline() {
    let sb = Sandbox::new();
    let src = sb.synthetic_small("src");
    let want = reference(&sb, &src);
    hub_cache(
        &sb.hf_home().join("hub"),
        "models--openai-community--gpt2",
        &src,
        Some(&format!("{COMMIT}\n")),
    );
    let (_, got) = without_model(next_token(&sb, "gpt2", &[]));
    assert_eq!(got, want);
}

#[test]
fn a_single_snapshot_without_refs_main() {
    let sb = Sandbox::new();
    let src = sb.synthetic_small("src");
    let want = reference(&sb, &src);
    let hub = sb.hf_home().join("hub");
    hub_cache(&hub, "models--openai-community--gpt2", &src, None);
    let (_, got) = without_model(next_token(&sb, "gpt2", &[]));
    assert_eq!(got, want);
    // Two snapshots and no refs/main: ambiguous, so an error that names refs/main.
    std::fs::create_dir_all(
        hub.join("models--openai-community--gpt2/snapshots/0000000000000000000000000000000000000000"),
    )
    .unwrap();
    let out = sb.run(&["next-token", "--model", "gpt2", PROMPT]);
    assert_one_line_error(&out, &["refs/main"]);
}

#[test]
fn incomplete_cached_snapshots_are_explained() {
    let sb = Sandbox::new();
    let src = sb.synthetic_small("src");
    let hub = sb.hf_home().join("hub");
    let snap = hub_cache(&hub, "models--openai-community--gpt2", &src, Some(COMMIT));
    // No tokenizer files.
    std::fs::remove_file(snap.join("vocab.json")).unwrap();
    let before = sb.snapshot();
    let out = sb.run(&["next-token", "--model", "gpt2", PROMPT]);
    assert_one_line_error(&out, &["lacks tokenizer.json", COMMIT, "offline"]);
    assert_eq!(before, sb.snapshot());
    std::fs::copy(src.join("vocab.json"), snap.join("vocab.json")).unwrap();
    // A dangling blob symlink (the blob was deleted).
    for e in std::fs::read_dir(hub.join("models--openai-community--gpt2/blobs")).unwrap() {
        let e = e.unwrap().path();
        if std::fs::metadata(&e).unwrap().len() > 1_000_000 {
            std::fs::remove_file(e).unwrap();
        }
    }
    let out = sb.run(&["next-token", "--model", "gpt2", PROMPT]);
    assert_one_line_error(&out, &["lacks model.safetensors"]);
    // refs/main naming a snapshot that is not there.
    std::fs::write(
        hub.join("models--openai-community--gpt2/refs/main"),
        "ffffffffffffffffffffffffffffffffffffffff",
    )
    .unwrap();
    let out = sb.run(&["next-token", "--model", "gpt2", PROMPT]);
    assert_one_line_error(&out, &["ffffffffffffffffffffffffffffffffffffffff", "does not exist"]);
}

#[test]
fn offline_flag_and_offline_variable_spellings() {
    // Nothing cached: every form of offline mode must refuse before any download. The
    // endpoint is a closed local port, so a download attempt could not reach the network.
    let sb = Sandbox::new();
    let closed = Path::new("http://127.0.0.1:9");
    let mut c = sb.command(&["next-token", "--offline", "--model", "gpt2", PROMPT]);
    c.env_remove("HF_HUB_OFFLINE").env("HF_ENDPOINT", closed);
    assert_one_line_error(&c.output().unwrap(), &["offline", "models--openai-community--gpt2"]);
    for v in ["1", "true", "YES", "on"] {
        let mut c = sb.command(&["next-token", "--model", "gpt2", PROMPT]);
        c.env("HF_HUB_OFFLINE", v).env("HF_ENDPOINT", closed);
        assert_one_line_error(&c.output().unwrap(), &["offline"]);
    }
}

#[test]
fn a_failed_download_is_one_error_line() {
    // Not offline, but the hub endpoint is a closed local port: the download fails at once.
    let sb = Sandbox::new();
    let mut c = sb.command(&["next-token", "--model", "someone/model", PROMPT]);
    c.env_remove("HF_HUB_OFFLINE").env("HF_ENDPOINT", "http://127.0.0.1:9");
    let before = sb.snapshot();
    let out = c.output().unwrap();
    assert_eq!(before, sb.snapshot(), "a failed download left files behind");
    let err = common::stderr(&out);
    assert!(!out.status.success() && !err.contains("panicked"), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    for n in ["someone/model", "could not be downloaded", "127.0.0.1:9", "Fix"] {
        assert!(errors[0].contains(n), "the error does not mention {n}: {}", errors[0]);
    }
    assert!(
        err.lines()
            .all(|l| l.starts_with("error:") || l.starts_with("downloading ")),
        "unexpected stderr: {err}"
    );
}

// ---------------------------------------------------------------------------------
// ModelSpec::parse, through the library.

#[test]
fn model_spec_parse() {
    let gpt2_repos = vec!["openai-community/gpt2".to_string(), "gpt2".to_string()];
    assert_eq!(
        ModelSpec::parse("gpt2").unwrap(),
        ModelSpec::Hub {
            name: "gpt2".into(),
            repos: gpt2_repos.clone()
        }
    );
    assert_eq!(
        ModelSpec::parse("openai-community/gpt2").unwrap(),
        ModelSpec::Hub {
            name: "openai-community/gpt2".into(),
            repos: gpt2_repos
        }
    );
    assert_eq!(
        ModelSpec::parse("distilgpt2").unwrap(),
        ModelSpec::Hub {
            name: "distilgpt2".into(),
            repos: vec!["distilbert/distilgpt2".into(), "distilgpt2".into()]
        }
    );
    assert_eq!(
        ModelSpec::parse("someone/model").unwrap(),
        ModelSpec::Hub {
            name: "someone/model".into(),
            repos: vec!["someone/model".into()]
        }
    );
    assert!(
        matches!(ModelSpec::parse("./nope"), Err(Error::MissingModelDir(p)) if p == Path::new("./nope")),
        "{:?}",
        ModelSpec::parse("./nope")
    );
    assert!(matches!(
        ModelSpec::parse("/nonexistent/dir"),
        Err(Error::MissingModelDir(_))
    ));
    assert!(matches!(ModelSpec::parse("a/b/c"), Err(Error::MissingModelDir(_))));
    match ModelSpec::parse("nonsense") {
        Err(e @ Error::UnknownModel { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("nonsense") && msg.contains("gpt2-medium"), "{msg}");
        }
        other => panic!("`nonsense` should be an unknown model, got {other:?}"),
    }
    let fixture = common::tiny_hf_fixture();
    assert_eq!(ModelSpec::parse(p(&fixture)).unwrap(), ModelSpec::Dir(fixture.clone()));
}
