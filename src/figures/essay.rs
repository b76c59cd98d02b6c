//! The essay's published GPT-2 numbers (`data/essay-numbers.json`: the next-word table
//! of section 1, GPT-2 small's blocks, heads and width of section 6), so that a figure
//! made with another model (SmolLM2 offline) can show the essay's numbers beside ours.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::LoadedModel;

/// The numbers, as the data file holds them.
#[derive(Debug, Clone, Deserialize)]
pub struct EssayNumbers {
    /// The essay's address.
    pub url: String,
    /// The model the essay's numbers come from ("GPT-2 small").
    pub model: String,
    pub next_word: NextWord,
    pub architecture: Architecture,
}

/// Section 1's table: the most likely next words after the prompt.
#[derive(Debug, Clone, Deserialize)]
pub struct NextWord {
    pub prompt: String,
    /// (token with its leading space, probability), most likely first.
    pub top: Vec<(String, f64)>,
}

/// Section 6's numbers for GPT-2 small.
#[derive(Debug, Clone, Deserialize)]
pub struct Architecture {
    pub blocks: usize,
    pub heads: usize,
    pub width: usize,
    pub vocabulary: usize,
}

/// The essay's address (also in the data file), for the figures that link to it.
pub const URL: &str = "https://writings.stephenwolfram.com/2023/02/what-is-chatgpt-doing-and-why-does-it-work/";

const FILE: &str = include_str!("../../data/essay-numbers.json");

/// The essay's numbers (the data file is compiled in; a malformed one is an error
/// naming it).
pub fn numbers() -> Result<&'static EssayNumbers> {
    static N: OnceLock<std::result::Result<EssayNumbers, String>> = OnceLock::new();
    N.get_or_init(|| serde_json::from_str(FILE).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|msg| Error::FigureInput {
            origin: "data/essay-numbers.json".into(),
            msg: msg.clone(),
        })
}

/// "the essay's GPT-2 small: learn 4.5%, predict 3.5%, …" for a model other than
/// GPT-2 small on the essay's prompt; `None` otherwise.
pub fn next_word_note(lm: &LoadedModel, prompt: &str) -> Result<Option<String>> {
    let n = numbers()?;
    if lm.is_essay_model() || prompt != n.next_word.prompt {
        return Ok(None);
    }
    let words: Vec<String> = n
        .next_word
        .top
        .iter()
        .map(|(w, p)| format!("{} {:.1}%", w.trim(), 100.0 * p))
        .collect();
    Ok(Some(format!("the essay's {}: {}", n.model, words.join(", "))))
}

/// "the essay's GPT-2 small: 12 blocks × 12 heads, C = 768" for a model other than
/// GPT-2 small; `None` for GPT-2 small itself.
pub fn architecture_note(lm: &LoadedModel) -> Result<Option<String>> {
    let n = numbers()?;
    if lm.is_essay_model() {
        return Ok(None);
    }
    let a = &n.architecture;
    Ok(Some(format!(
        "the essay's {}: {} blocks × {} heads, C = {}",
        n.model, a.blocks, a.heads, a.width
    )))
}
