//! Experiments: the data, small nets, training runs and evaluations behind the
//! "trained" figures of the essay (kind T in ESSAY_FIGURES.md). Each module owns its
//! data and nets and trains through [`crate::train`] (seeded, cached by configuration);
//! the figure modules only plot what these return.

pub mod digits;
pub mod parens;
