//! The gallery's sections: the essay's headings (numbered as the figure list,
//! `docs/essay-figures.md`, numbers them) and the two pages beyond the essay. Every
//! figure module takes its section from here, so that one heading is never spelt two
//! ways (the gallery groups figures by this exact text; a second spelling would open a
//! second section). `tests/figures.rs` checks that every figure of the table uses one of
//! [`ALL`] and that each section's figures sit together in the table.

pub const ONE_WORD_AT_A_TIME: &str = "1. It's just adding one word at a time";
pub const PROBABILITIES: &str = "2. Where do the probabilities come from?";
pub const MODELS: &str = "3. What is a model?";
pub const NEURAL_NETS: &str = "4. Neural nets, training, practice";
pub const EMBEDDINGS: &str = "5. Embeddings";
pub const INSIDE_CHATGPT: &str = "6. Inside ChatGPT";
pub const TRAINING: &str = "The training of ChatGPT";
pub const BEYOND_BASIC_TRAINING: &str = "Beyond basic training: instructions, and learning from the prompt";
pub const SYNTAX_AND_MEANING: &str = "7. What lets it work: syntax, meaning space";
pub const EXPERIMENTS: &str = "Beyond the essay: experiments on the model";

/// Every section, in the gallery's order: the essay's sections in the essay's order
/// ("The training of ChatGPT" and "Beyond basic training" come between its sections 6
/// and 7), then the experiments beyond the essay.
pub const ALL: [&str; 10] = [
    ONE_WORD_AT_A_TIME,
    PROBABILITIES,
    MODELS,
    NEURAL_NETS,
    EMBEDDINGS,
    INSIDE_CHATGPT,
    TRAINING,
    BEYOND_BASIC_TRAINING,
    SYNTAX_AND_MEANING,
    EXPERIMENTS,
];
