//! Essay section 3, "What is a model? / models for human-like tasks": its figures (see ../shared/ESSAY_FIGURES.md).

use super::FigureSpec;

/// The chapter's figures, in essay order.
pub fn figures() -> Vec<FigureSpec> {
    vec![]
}
