//! The model's byte-level BPE tokenizer (the `tokenizers` crate): GPT-2's, read from a
//! model folder's `tokenizer.json` or from `vocab.json` + `merges.txt`, or SmolLM2's,
//! built from its GGUF file. Gives token ids and
//! the token strings, with the leading-space marker made readable. Serves essay
//! section 1 (text becomes tokens before the model sees it) and every figure that
//! labels tokens.

use std::path::Path;

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer as HfTokenizer};

use crate::error::{Error, Result};

/// GPT-2's end-of-text token.
pub const END_OF_TEXT: &str = "<|endoftext|>";

/// A byte-level BPE tokenizer: GPT-2's or SmolLM2's (formerly `Gpt2Tokenizer`, a name
/// that did not fit the second).
pub struct Tokenizer {
    inner: HfTokenizer,
}

impl Tokenizer {
    /// Reads `tokenizer.json` from `dir`, or else `vocab.json` + `merges.txt`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let json = dir.join("tokenizer.json");
        if json.is_file() {
            return Self::from_tokenizer_json(&json);
        }
        let (vocab, merges) = (dir.join("vocab.json"), dir.join("merges.txt"));
        if vocab.is_file() && merges.is_file() {
            return Self::from_vocab_merges(&vocab, &merges);
        }
        Err(Error::MissingFile {
            path: dir.join("tokenizer.json"),
            what: "the model folder needs tokenizer.json, or vocab.json and merges.txt".into(),
        })
    }

    /// Wraps a ready `tokenizers` tokenizer (e.g. one built from GGUF metadata).
    pub fn from_inner(inner: HfTokenizer) -> Self {
        Tokenizer { inner }
    }

    /// Reads a HF `tokenizer.json`.
    pub fn from_tokenizer_json(path: &Path) -> Result<Self> {
        let inner = HfTokenizer::from_file(path).map_err(|source| Error::Tokenizer {
            what: path.display().to_string(),
            source,
        })?;
        Ok(Tokenizer { inner })
    }

    /// Builds GPT-2's tokenizer from `vocab.json` (token -> id) and `merges.txt`:
    /// byte-level pre-tokenizer with GPT-2's split pattern, no prefix space, byte-level
    /// decoder, and `<|endoftext|>` as a special token.
    pub fn from_vocab_merges(vocab: &Path, merges: &Path) -> Result<Self> {
        let (v, m) = (vocab.to_string_lossy(), merges.to_string_lossy());
        let bpe = BPE::from_file(&v, &m).build().map_err(|source| Error::Tokenizer {
            what: format!("{v} + {m}"),
            source,
        })?;
        let mut inner = HfTokenizer::new(bpe);
        inner.with_pre_tokenizer(Some(
            ByteLevel::default()
                .add_prefix_space(false)
                .trim_offsets(true)
                .use_regex(true),
        ));
        inner.with_decoder(Some(ByteLevelDecoder::default()));
        inner.add_special_tokens(&[AddedToken::from(END_OF_TEXT, true)]);
        Ok(Tokenizer { inner })
    }

    /// Token ids of `text`; no BOS token is prepended (neither HF nor the essay does).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        if text.is_empty() {
            return Err(Error::EmptyPrompt);
        }
        let enc = self.inner.encode(text, false).map_err(|source| Error::Tokenizer {
            what: String::new(),
            source,
        })?;
        Ok(enc.get_ids().to_vec())
    }

    /// The text of a sequence of ids (byte sequences that are not whole UTF-8
    /// characters decode to U+FFFD).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, false).map_err(|source| Error::Tokenizer {
            what: String::new(),
            source,
        })
    }

    /// The text of one token, e.g. `" learn"` for id 2193.
    pub fn token_str(&self, id: u32) -> String {
        self.decode(&[id]).unwrap_or_else(|_| format!("<{id}>"))
    }

    /// The BPE vocabulary entry, with the byte-level alphabet as stored, e.g. `"Ġlearn"`.
    pub fn piece(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// A label for tables and plots: the token text with a leading space shown as `␣`,
    /// newlines as `↵` and tabs as `⇥`, e.g. `"␣learn"`.
    pub fn token_label(&self, id: u32) -> String {
        readable(&self.token_str(id))
    }

    /// Labels ([`Tokenizer::token_label`]) of a sequence of ids.
    pub fn labels(&self, ids: &[u32]) -> Vec<String> {
        ids.iter().map(|&i| self.token_label(i)).collect()
    }

    /// The id of `text` when it is exactly one token; otherwise an error naming its
    /// pieces (`what` says what the token is for, e.g. "answer").
    pub fn single_token(&self, text: &str, what: &str) -> Result<u32> {
        let ids = self.encode(text)?;
        match ids[..] {
            [id] => Ok(id),
            _ => Err(Error::NotOneToken {
                what: what.into(),
                text: text.into(),
                n: ids.len(),
                tokens: self.labels(&ids).join(" | "),
            }),
        }
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }
}

/// Makes whitespace visible: space -> `␣`, newline -> `↵`, tab -> `⇥`.
pub fn readable(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ' ' => '␣',
            '\n' => '↵',
            '\t' => '⇥',
            c => c,
        })
        .collect()
}
