//! Numbers quoted from the essay itself, to set beside what runs here when the model the
//! essay used is not on this computer (essay section 1's table; notebook 06 shows it when
//! GPT-2 cannot be loaded offline). Quoted, not computed: each constant says where it is
//! from.

/// The prompt of the essay's first table and of most of chapter 1's figures.
pub const PROMPT: &str = "The best thing about AI is its ability to";

/// GPT-2 (small)'s five most likely next tokens after [`PROMPT`], with the probabilities
/// the essay prints (section 1, "It's just adding one word at a time": learn 4.5%,
/// predict 3.5%, make 3.2%, understand 3.1%, do 2.9%). Tokens carry their leading space.
pub const GPT2_NEXT_WORDS: [(&str, f64); 5] = [
    (" learn", 0.045),
    (" predict", 0.035),
    (" make", 0.032),
    (" understand", 0.031),
    (" do", 0.029),
];
