//! Experiments: the data, small computations, nets, training runs and evaluations behind
//! the "trained" and schematic figures of essay sections 3, 4, 5 and 7 (kinds T and G in
//! docs/essay-figures.md): curve fits, the nearest-point task, 1-D function learning, rule 30,
//! MNIST digits and the parentheses transformer. They return plain data (numbers, grids,
//! curves) for the figure modules; nothing here plots. Training goes through
//! [`crate::train`] (seeded, cached by configuration), so a re-run never retrains.

pub mod automaton;
pub mod curves;
pub mod digits;
pub mod function;
pub mod nearest;
pub mod parens;
pub mod practice;
