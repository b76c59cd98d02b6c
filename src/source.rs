//! Where a model comes from: `--model` takes a hub name (`gpt2`, `gpt2-medium`,
//! `gpt2-large`, `gpt2-xl`, `distilgpt2`, or any `owner/name`), found in the standard
//! Hugging Face cache (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
//! `~/.cache/huggingface/hub`) or downloaded from the hub with a progress bar; or a
//! local folder laid out like a hub snapshot (config.json, model.safetensors,
//! tokenizer.json or vocab.json + merges.txt). Offline with no cached copy, one error
//! says what was tried and how to fix it. Serves every model-made figure.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The GPT-2 checkpoints by their short names, with the hub repositories that hold them
/// (the current one first, then the legacy alias under which older caches stored it).
pub const KNOWN_MODELS: &[(&str, &[&str])] = &[
    ("gpt2", &["openai-community/gpt2", "gpt2"]),
    ("gpt2-medium", &["openai-community/gpt2-medium", "gpt2-medium"]),
    ("gpt2-large", &["openai-community/gpt2-large", "gpt2-large"]),
    ("gpt2-xl", &["openai-community/gpt2-xl", "gpt2-xl"]),
    ("distilgpt2", &["distilbert/distilgpt2", "distilgpt2"]),
];

/// What `--model` named.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSpec {
    /// A local folder laid out like a hub snapshot.
    Dir(PathBuf),
    /// Hub repositories to look for, in order (the first is downloaded if none is cached).
    Hub { name: String, repos: Vec<String> },
}

impl ModelSpec {
    /// Interprets a `--model` argument: an existing folder, a known short name, an
    /// `owner/name` hub repository, or else an error listing the choices.
    pub fn parse(arg: &str) -> Result<Self> {
        let path = Path::new(arg);
        if path.is_dir() {
            return Ok(ModelSpec::Dir(path.into()));
        }
        if let Some((_, repos)) = KNOWN_MODELS.iter().find(|(n, repos)| *n == arg || repos.contains(&arg)) {
            return Ok(ModelSpec::Hub { name: arg.into(), repos: repos.iter().map(|r| r.to_string()).collect() });
        }
        let looks_like_path = arg.starts_with('/') || arg.starts_with('.') || arg.starts_with('~') || path.exists();
        let looks_like_repo = !looks_like_path && is_repo_id(arg);
        if looks_like_repo {
            return Ok(ModelSpec::Hub { name: arg.into(), repos: vec![arg.into()] });
        }
        if looks_like_path || arg.contains('/') {
            return Err(Error::MissingModelDir(path.into()));
        }
        let names: Vec<&str> = KNOWN_MODELS.iter().map(|(n, _)| *n).collect();
        Err(Error::UnknownModel { name: arg.into(), why: format!("not a folder and not a known model; use one of {} , a hub repository `owner/name`, or a local folder", names.join(", ")) })
    }
}

/// `owner/name` with the characters the hub allows.
fn is_repo_id(s: &str) -> bool {
    let ok = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    matches!(s.split('/').collect::<Vec<_>>()[..], [a, b] if ok(a) && ok(b))
}

/// The standard Hugging Face hub cache: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
/// `~/.cache/huggingface/hub`.
pub fn hf_cache() -> hf_hub::Cache {
    match std::env::var_os("HF_HUB_CACHE") {
        Some(dir) => hf_hub::Cache::new(dir.into()),
        None => hf_hub::Cache::from_env(),
    }
}

/// The files of one model, all in one folder (a snapshot or a local folder).
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// What the user asked for, for captions and JSON output.
    pub name: String,
    pub dir: PathBuf,
}

const WEIGHTS: &str = "model.safetensors";
const CONFIG: &str = "config.json";

/// Finds (or downloads) the model's files. `offline` forbids downloads (also implied by
/// `HF_HUB_OFFLINE=1`).
pub fn resolve(spec: &ModelSpec, offline: bool) -> Result<ModelFiles> {
    match spec {
        ModelSpec::Dir(dir) => {
            if !dir.is_dir() {
                return Err(Error::MissingModelDir(dir.clone()));
            }
            Ok(ModelFiles { name: dir.display().to_string(), dir: dir.clone() })
        }
        ModelSpec::Hub { name, repos } => {
            let cache = hf_cache();
            for repo in repos {
                let c = cache.model(repo.clone());
                if let (Some(config), Some(_)) = (c.get(CONFIG), c.get(WEIGHTS)) {
                    let dir = config.parent().expect("a cached file lives in a snapshot folder").to_path_buf();
                    if has_tokenizer_files(&dir) {
                        return Ok(ModelFiles { name: name.clone(), dir });
                    }
                }
            }
            let tried = format!("looked in {} for {}", cache.path().display(), repos.join(", "));
            let offline = offline || std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
            if offline {
                return Err(Error::Offline { name: name.clone(), tried, why: "offline mode (HF_HUB_OFFLINE=1 or --offline)".into() });
            }
            download(name, &repos[0], &cache).map_err(|why| Error::Offline { name: name.clone(), tried, why })
        }
    }
}

/// Downloads config.json, model.safetensors and the tokenizer files into the cache.
fn download(name: &str, repo: &str, cache: &hf_hub::Cache) -> std::result::Result<ModelFiles, String> {
    eprintln!("downloading {repo} from the Hugging Face hub into {}", cache.path().display());
    let api = hf_hub::api::sync::ApiBuilder::from_cache(cache.clone()).with_progress(true).build().map_err(|e| e.to_string())?;
    let repo_api = api.model(repo.to_string());
    let config = repo_api.get(CONFIG).map_err(|e| format!("{repo}/{CONFIG}: {e}"))?;
    repo_api.get(WEIGHTS).map_err(|e| format!("{repo}/{WEIGHTS}: {e}"))?;
    if repo_api.get("tokenizer.json").is_err() {
        repo_api.get("vocab.json").map_err(|e| format!("{repo}/vocab.json: {e}"))?;
        repo_api.get("merges.txt").map_err(|e| format!("{repo}/merges.txt: {e}"))?;
    }
    let dir = config.parent().ok_or("downloaded file has no folder")?.to_path_buf();
    Ok(ModelFiles { name: name.into(), dir })
}

/// Whether a folder has tokenizer.json, or vocab.json and merges.txt.
fn has_tokenizer_files(dir: &Path) -> bool {
    dir.join("tokenizer.json").is_file() || (dir.join("vocab.json").is_file() && dir.join("merges.txt").is_file())
}
