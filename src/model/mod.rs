//! The language model: configuration, strict checkpoint loading, and GPT-2 itself.
//! Serves every model-made figure of the essay.

pub mod checkpoint;
pub mod config;
pub mod gpt2;

pub use config::Gpt2Config;
pub use gpt2::{Gpt2, KvCache};
