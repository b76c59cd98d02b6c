//! Experiments: the small computations and trained nets behind the figures of essay
//! sections 3 and 4 ("What is a model?", "Neural nets, training, practice"), returning
//! plain data (numbers, grids, curves) for the figure modules. Nothing here plots.
//! Training goes through [`crate::train`], so trained weights are cached by
//! configuration and a re-run never retrains.

pub mod automaton;
pub mod curves;
pub mod function;
pub mod nearest;
