//! The command line's words for library errors. The library speaks of settings (top-k,
//! the device, how to combine a word's tokens); the binaries' flags (`--top`,
//! `--device`, `--multi-token`) are named here, in one place, and only the binaries
//! call it. Serves every essay section the binaries reach.

use crate::Error;

/// `e` (with its context) as one line for the command line: a library error that is
/// about a flag is told in that flag's name; anything else as it is.
pub fn message(e: &anyhow::Error) -> String {
    let text = format!("{e:#}");
    let lib = e.chain().find_map(|c| c.downcast_ref::<Error>());
    match lib.and_then(flag_words) {
        Some(words) => text.replace(&lib.map(ToString::to_string).unwrap_or_default(), &words),
        None => text,
    }
}

/// The flag-named message for the library errors that are about a flag.
fn flag_words(e: &Error) -> Option<String> {
    match e {
        Error::BadTopK { k, vocab } => Some(format!("--top must be between 1 and the vocabulary size {vocab}, got {k}")),
        Error::MultiToken { word, n, tokens } => Some(format!("`{word}` is {n} tokens ({tokens}), not one: pass --multi-token first or --multi-token mean (the first token, or the mean of the tokens), or give a word that is one token")),
        Error::UnknownDevice { .. } => Some(format!("--device: {e}")),
        Error::CudaNotBuilt { .. } | Error::NoCuda { .. } | Error::CudaIndex { .. } => {
            let text = e.to_string();
            Some(format!("--{text}").replace("or use the cpu", "or use --device cpu"))
        }
        _ => None,
    }
}
