//! Essay section 4, "Neural nets, training, practice": its figures (see ../shared/ESSAY_FIGURES.md).

use super::FigureSpec;

/// The chapter's figures, in essay order.
pub fn figures() -> Vec<FigureSpec> {
    vec![]
}
