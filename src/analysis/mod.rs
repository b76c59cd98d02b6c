//! Analysis: turns text, corpora, model weights and hook captures into plain data
//! (counts, probabilities, projections) for the figure modules. Nothing here plots.

pub mod embedding;
pub mod pca;
