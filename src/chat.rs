//! Chat templates: the text layout an instruction-tuned model was trained on (essay,
//! "Beyond basic training"). A base model such as GPT-2 only continues text; a model
//! tuned on conversations (SmolLM2-135M-*Instruct*) expects each turn wrapped in
//! markers, and answers well only when its prompt is laid out the same way.
//!
//! The layout is read from the model, never assumed: a GGUF file keeps it in the
//! metadata key `tokenizer.chat_template`, a Hugging Face folder in
//! `tokenizer_config.json` (`chat_template`). Both are Jinja programs. This module does
//! not run Jinja; it recognises the template's format and formats messages in Rust.
//! Known formats: ChatML (`<|im_start|>role\ncontent<|im_end|>\n`, SmolLM2's), with the
//! default system message the template inserts when the conversation has none (read
//! from the template's text). Any other template is an error quoting its opening, so
//! nothing is ever formatted in a layout the model was not trained on.
//! `tests/chat.rs` holds the result against transformers' `apply_chat_template` run on
//! the template in SmolLM2's GGUF.

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::hooks::NoCapture;
use crate::model::gpt2::ids_tensor;
use crate::model::KvCache;
use crate::sampling::{Sampler, Sampling};
use crate::{gguf, LoadedModel};

/// One turn of a conversation: who speaks (`system`, `user`, `assistant`) and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: &str) -> Self {
        Message {
            role: role.into(),
            content: content.into(),
        }
    }
    /// Instructions for the assistant as a whole.
    pub fn system(content: &str) -> Self {
        Self::new("system", content)
    }
    /// What the person asks.
    pub fn user(content: &str) -> Self {
        Self::new("user", content)
    }
    /// What the model answered before.
    pub fn assistant(content: &str) -> Self {
        Self::new("assistant", content)
    }
}

/// The chat formats this module can write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatFormat {
    /// `<|im_start|>{role}\n{content}<|im_end|>\n` per message; the reply is asked for
    /// with `<|im_start|>assistant\n` and ends with `<|im_end|>`.
    ChatMl {
        /// The system message the template puts first when the conversation does not
        /// start with one (SmolLM2: "You are a helpful AI assistant named SmolLM, ...").
        default_system: Option<String>,
    },
}

const IM_START: &str = "<|im_start|>";
const IM_END: &str = "<|im_end|>";

/// A model's chat template: its Jinja text, where it came from, and the format
/// recognised in it.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    /// The template as stored with the model.
    pub source: String,
    /// Where it was read, for messages ("…gguf: tokenizer.chat_template").
    pub origin: String,
    pub format: ChatFormat,
}

impl ChatTemplate {
    /// Recognises the format of a Jinja chat template (`origin` names where it came
    /// from, for the error of an unknown format).
    pub fn parse(source: &str, origin: &str) -> Result<Self> {
        let unknown = |why: &str| Error::ChatTemplate {
            origin: origin.to_string(),
            msg: format!(
                "{why}; this library writes only ChatML (<|im_start|>role … <|im_end|>). The template begins: {:?}",
                source.chars().take(120).collect::<String>()
            ),
        };
        if !(source.contains(IM_START) && source.contains(IM_END)) {
            return Err(unknown(
                "the template is not ChatML (no <|im_start|> and <|im_end|> markers)",
            ));
        }
        // Every message must be written as start marker, role, newline, content, end marker.
        let per_message = unescape(source).replace(' ', "");
        if !per_message.contains("'<|im_start|>'+message['role']+'\n'+message['content']+'<|im_end|>'")
            && !per_message.contains("\"<|im_start|>\"+message[\"role\"]+\"\n\"+message[\"content\"]+\"<|im_end|>\"")
        {
            return Err(unknown(
                "the template uses ChatML markers but not the plain per-message layout '<|im_start|>' + role + newline + content + '<|im_end|>'",
            ));
        }
        Ok(ChatTemplate {
            source: source.to_string(),
            origin: origin.to_string(),
            format: ChatFormat::ChatMl {
                default_system: default_system(source),
            },
        })
    }

    /// The chat template that came with the model: a GGUF file's
    /// `tokenizer.chat_template`, or a folder's `tokenizer_config.json` (`chat_template`).
    /// A model without one (a base model such as GPT-2) is an error saying so.
    pub fn of_model(lm: &LoadedModel) -> Result<Self> {
        let path = &lm.path;
        if path.is_file() {
            let g = gguf::GgufFile::open(path)?;
            let origin = format!("{}: tokenizer.chat_template", path.display());
            return match g.get("tokenizer.chat_template") {
                Ok(v) => match v.as_str() {
                    Some(s) => Self::parse(s, &origin),
                    None => Err(Error::ChatTemplate {
                        origin,
                        msg: format!("the metadata value is a {}, not a string", v.ty().name()),
                    }),
                },
                Err(_) => Err(no_template(&lm.name, &origin)),
            };
        }
        let config = path.join("tokenizer_config.json");
        let origin = format!("{}: chat_template", config.display());
        match read_config_template(&config)? {
            Some(s) => Self::parse(&s, &origin),
            None => Err(no_template(&lm.name, &origin)),
        }
    }

    /// The conversation laid out as the model was trained to read it; with
    /// `add_generation_prompt`, ending with the opening of the assistant's turn, so that
    /// what the model writes next is its reply. Matches the template's output exactly
    /// (`tests/chat.rs`).
    pub fn format(&self, messages: &[Message], add_generation_prompt: bool) -> String {
        let ChatFormat::ChatMl { default_system } = &self.format;
        let mut out = String::new();
        if let (Some(sys), Some(first)) = (default_system, messages.first()) {
            if first.role != "system" {
                out += &format!("{IM_START}system\n{sys}{IM_END}\n");
            }
        }
        for m in messages {
            out += &format!("{IM_START}{}\n{}{IM_END}\n", m.role, m.content);
        }
        if add_generation_prompt {
            out += &format!("{IM_START}assistant\n");
        }
        out
    }

    /// The text that ends a turn (the model writes it when its reply is complete).
    pub fn end_of_turn(&self) -> &'static str {
        IM_END
    }
}

fn no_template(name: &str, origin: &str) -> Error {
    Error::ChatTemplate {
        origin: origin.to_string(),
        msg: format!(
            "`{name}` has no chat template: it was trained only to continue text (a base model), so give it text to continue, or load an instruction-tuned model such as smollm2"
        ),
    }
}

/// `chat_template` of a `tokenizer_config.json`, if the file and the key exist.
fn read_config_template(path: &Path) -> Result<Option<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::BadData {
        path: path.into(),
        msg: format!("not valid JSON: {e}"),
    })?;
    Ok(v.get("chat_template").and_then(|t| t.as_str()).map(str::to_string))
}

/// Jinja string literals may spell a newline as `\n`: read it as one.
fn unescape(s: &str) -> String {
    s.replace("\\n", "\n")
}

/// The default system message of a ChatML template: the literal text between
/// `<|im_start|>system` + newline and `<|im_end|>`, when the template writes it only
/// for conversations that do not start with a system message.
fn default_system(source: &str) -> Option<String> {
    let s = unescape(source);
    if !(s.contains("!= 'system'") || s.contains("!= \"system\"")) {
        return None;
    }
    let start = s.find(&format!("{IM_START}system\n"))? + IM_START.len() + "system\n".len();
    let len = s[start..].find(IM_END)?;
    let text = &s[start..start + len];
    // Literal text only: a template that computes the message is not read here.
    (!text.contains("{{") && !text.contains('\'') && !text.contains('"')).then(|| text.to_string())
}

/// What the model wrote after a prompt (greedy).
#[derive(Debug, Clone, Serialize)]
pub struct Completion {
    /// The prompt exactly as the model saw it.
    pub prompt: String,
    pub prompt_tokens: usize,
    /// The text written, without the end-of-turn marker.
    pub text: String,
    /// Whether the model ended its turn (wrote the end-of-turn token) before
    /// `max_new_tokens`.
    pub ended: bool,
}

/// Greedy continuation of `prompt` (any text, e.g. one made by [`ChatTemplate::format`]),
/// at most `max_new_tokens` tokens, cut at `stop` (a token's text such as `<|im_end|>`)
/// when the model writes it.
pub fn complete(lm: &LoadedModel, prompt: &str, max_new_tokens: usize, stop: Option<&str>) -> Result<Completion> {
    let ids = lm.encode_prompt(prompt)?;
    let stop_id = match stop {
        Some(s) => Some(lm.tokenizer.single_token(s, "stop marker")?),
        None => None,
    };
    let max = lm.model.info().n_ctx;
    if ids.len() + max_new_tokens.saturating_sub(1) > max {
        return Err(Error::TooLongToGenerate {
            prompt: ids.len(),
            max_new: max_new_tokens,
            max,
        });
    }
    // Greedy with a KV cache, stopping as soon as the stop token is written.
    let mut sampler = Sampler::new(Sampling::Greedy);
    let mut cache = KvCache::new();
    let mut input = ids_tensor(&ids); // (1, T)
    let (mut new, mut ended) = (Vec::new(), false);
    for _ in 0..max_new_tokens {
        let logits = lm.model.forward(&input, Some(&mut cache), &mut NoCapture)?; // (1, T, V)
        let next = sampler.pick(&logits.get(0).get(-1).to_device(tch::Device::Cpu))?; // from (V)
        if Some(next) == stop_id {
            ended = true;
            break;
        }
        new.push(next);
        input = ids_tensor(&[next]); // (1, 1)
    }
    Ok(Completion {
        prompt: prompt.to_string(),
        prompt_tokens: ids.len(),
        text: lm.tokenizer.decode(&new)?,
        ended,
    })
}

/// The model's greedy reply to a conversation, laid out with its chat template.
pub fn reply(lm: &LoadedModel, messages: &[Message], max_new_tokens: usize) -> Result<Completion> {
    let t = ChatTemplate::of_model(lm)?;
    complete(lm, &t.format(messages, true), max_new_tokens, Some(t.end_of_turn()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOL: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are helpful<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn chatml_by_hand() {
        let t = ChatTemplate::parse(SMOL, "test").unwrap();
        assert_eq!(
            t.format(&[Message::user("Hi")], true),
            "<|im_start|>system\nYou are helpful<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(
            t.format(&[Message::system("S"), Message::user("Hi")], false),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        );
        assert_eq!(t.format(&[], false), "");
    }

    #[test]
    fn escaped_newlines_and_no_default() {
        let t = ChatTemplate::parse(
            r"{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}",
            "test",
        )
        .unwrap();
        assert_eq!(t.format, ChatFormat::ChatMl { default_system: None });
    }

    #[test]
    fn other_formats_are_refused() {
        let llama3 = "{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>{{ m['content'] }}<|eot_id|>{% endfor %}";
        let e = ChatTemplate::parse(llama3, "x.gguf").unwrap_err().to_string();
        assert!(
            e.contains("not ChatML") && e.contains("x.gguf") && e.contains("start_header_id"),
            "{e}"
        );
        let odd = "<|im_start|>{{ message['role'] }}: {{ message['content'] }}<|im_end|>";
        let e = ChatTemplate::parse(odd, "y").unwrap_err().to_string();
        assert!(e.contains("per-message layout"), "{e}");
    }
}
