//! Essay section 2, "Where do the probabilities come from? (letters and words)": its figures (see ../shared/ESSAY_FIGURES.md).

use super::FigureSpec;

/// The chapter's figures, in essay order.
pub fn figures() -> Vec<FigureSpec> {
    vec![]
}
