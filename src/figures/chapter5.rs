//! Essay section 5, "Embeddings": its figures (see ../shared/ESSAY_FIGURES.md).

use super::FigureSpec;

/// The chapter's figures, in essay order.
pub fn figures() -> Vec<FigureSpec> {
    vec![]
}
