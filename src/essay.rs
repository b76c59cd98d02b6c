//! Numbers quoted from the essay itself, to set beside what runs here when the model the
//! essay used (GPT-2 small) is not on this computer: section 1's next-word table and
//! section 6's sizes. Figure subtitles (`figures::essay`) and notebook 06 read them from
//! here. Quoted, not computed: each constant says where it is from.

/// The essay's address.
pub const URL: &str = "https://writings.stephenwolfram.com/2023/02/what-is-chatgpt-doing-and-why-does-it-work/";

/// The model the essay's numbers come from.
pub const MODEL: &str = "GPT-2 small";

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

/// GPT-2 small's sizes as section 6 states them.
pub struct Sizes {
    pub blocks: usize,
    pub heads: usize,
    /// The embedding vector's length (C).
    pub width: usize,
    pub vocabulary: usize,
}

/// Section 6: 12 blocks of 12 heads, vectors of 768, 50,257 tokens.
pub const GPT2_SIZES: Sizes = Sizes {
    blocks: 12,
    heads: 12,
    width: 768,
    vocabulary: 50257,
};
