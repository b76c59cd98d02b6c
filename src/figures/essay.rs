//! The essay's published GPT-2 numbers ([`crate::essay`]) as subtitle notes, so that a
//! figure made with another model (SmolLM2 offline) shows the essay's numbers beside ours.

use crate::essay::{GPT2_NEXT_WORDS, GPT2_SIZES, MODEL, PROMPT};
use crate::LoadedModel;

pub use crate::essay::URL;

/// "the essay's GPT-2 small: learn 4.5%, predict 3.5%, …" for a model other than
/// GPT-2 small on the essay's prompt; `None` otherwise.
pub fn next_word_note(lm: &LoadedModel, prompt: &str) -> Option<String> {
    if lm.is_essay_model() || prompt != PROMPT {
        return None;
    }
    let words: Vec<String> = GPT2_NEXT_WORDS
        .iter()
        .map(|(w, p)| format!("{} {:.1}%", w.trim(), 100.0 * p))
        .collect();
    Some(format!("the essay's {MODEL}: {}", words.join(", ")))
}

/// "the essay's GPT-2 small: 12 blocks × 12 heads, C = 768" for a model other than
/// GPT-2 small; `None` for GPT-2 small itself.
pub fn architecture_note(lm: &LoadedModel) -> Option<String> {
    if lm.is_essay_model() {
        return None;
    }
    let s = &GPT2_SIZES;
    Some(format!(
        "the essay's {MODEL}: {} blocks × {} heads, C = {}",
        s.blocks, s.heads, s.width
    ))
}
