//! Analysis: turns text, corpora, model weights and hook captures into plain data
//! (counts, probabilities, projections) for the figure modules. Nothing here plots.

pub mod attention;
pub mod attribution;
pub mod embedding;
pub mod embedding_module;
pub mod heads;
pub mod lens;
pub mod matrix;
pub mod motion;
pub mod ngram;
pub mod pca;
