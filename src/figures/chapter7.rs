//! Essay section 7, "What lets it work: syntax, meaning space": its figures (see ../shared/ESSAY_FIGURES.md).

use super::FigureSpec;

/// The chapter's figures, in essay order.
pub fn figures() -> Vec<FigureSpec> {
    super::syntax::figures()
}
