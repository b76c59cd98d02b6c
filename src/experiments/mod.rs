//! Experiments: the data, small computations, nets, training runs and evaluations behind
//! the "trained" and schematic figures of essay sections 3, 4, 5 and 7 (kinds T and G in
//! docs/essay-figures.md): curve fits, the nearest-point task, 1-D function learning, rule 30,
//! MNIST digits, the parentheses transformer and the small GPT-2 trained on English text
//! ("The training of ChatGPT", `text_gpt`). They return plain data (numbers, grids,
//! curves) for the figure modules; nothing here plots. Training goes through
//! [`crate::train`] (seeded, cached by configuration), so a re-run never retrains.

pub mod automaton;
pub mod curves;
pub mod digits;
pub mod function;
pub mod nearest;
pub mod parens;
pub mod practice;
pub mod text_gpt;
