//! The library's one error type. Every failure a user can cause (a missing or corrupt
//! checkpoint, a bad prompt, a bad sampling setting) ends as one of these variants, with
//! a message that names the thing and, where there is one, the fix. Binaries wrap it in
//! `anyhow` and print it as one line.

use std::path::PathBuf;

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },

    #[error("model folder {0} does not exist (give a hub name such as `gpt2`, or a folder holding config.json and model.safetensors)")]
    MissingModelDir(PathBuf),

    #[error("{path} is missing: {what}")]
    MissingFile { path: PathBuf, what: String },

    #[error("{path}: invalid config.json: {msg}")]
    Config { path: PathBuf, msg: String },

    #[error("{path}: not a readable safetensors file ({msg}); it may be truncated or corrupt: delete it and download it again")]
    CorruptCheckpoint { path: PathBuf, msg: String },

    #[error("checkpoint {path}: tensor `{name}` {msg}")]
    Tensor { path: PathBuf, name: String, msg: String },

    #[error("tokenizer: {0}")]
    Tokenizer(String),

    #[error("the prompt is empty: give at least one character of text")]
    EmptyPrompt,

    #[error("the input has {len} tokens but the model's context window is {max} (n_positions); shorten the prompt or lower --max-new-tokens")]
    TooLong { len: usize, max: usize },

    #[error("token id {id} is outside the vocabulary (size {vocab})")]
    BadTokenId { id: i64, vocab: usize },

    #[error("temperature must be a finite number >= 0 (0 means greedy), got {0}")]
    BadTemperature(f64),

    #[error("--top must be between 1 and the vocabulary size {vocab}, got {k}")]
    BadTopK { k: usize, vocab: usize },

    #[error("block {layer} does not exist: the model has {n_layer} blocks (0..{n_layer})")]
    BadLayer { layer: usize, n_layer: usize },

    #[error("hook point {hook} does not exist in this model ({why})")]
    NoSuchHook { hook: String, why: String },

    #[error("{0} was not captured: add it to the capture filter before running the model")]
    NotCaptured(String),

    #[error("unknown model `{name}`: {why}")]
    UnknownModel { name: String, why: String },

    #[error("model `{name}` is not in the Hugging Face cache ({tried}) and could not be downloaded from the hub: {why}. Fix: connect to the internet once, set HF_HOME to a cache that has it, or pass --model with a local folder (config.json, model.safetensors, tokenizer.json or vocab.json + merges.txt)")]
    Offline { name: String, tried: String, why: String },

    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}
