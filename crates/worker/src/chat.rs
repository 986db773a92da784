//! Chat markup for models whose file carries no template llama.cpp can apply.
//!
//! A model answers well only in the markup it was trained with. The file's own template comes
//! first (llama.cpp applies it); without one, the family's markup is chosen from the special
//! tokens in the vocabulary (`fieldbrief_gguf::ChatFormat`), and ChatML only when none is known.

use fieldbrief_engine::protocol::Message;
use fieldbrief_gguf::ChatFormat;

/// `messages` in `format`'s markup, ending where the assistant's answer starts.
pub(crate) fn render(format: ChatFormat, messages: &[Message]) -> String {
    let mut text = String::new();
    match format {
        ChatFormat::ChatMl => {
            for m in messages {
                text.push_str(&format!("<|im_start|>{}\n{}<|im_end|>\n", m.role, m.content));
            }
            text.push_str("<|im_start|>assistant\n");
        }
        ChatFormat::Llama3 => {
            for m in messages {
                text.push_str(&format!(
                    "<|start_header_id|>{}<|end_header_id|>\n\n{}<|eot_id|>",
                    m.role,
                    m.content.trim()
                ));
            }
            text.push_str("<|start_header_id|>assistant<|end_header_id|>\n\n");
        }
        ChatFormat::Gemma => {
            // Gemma has no system role: the system text opens the first user turn, as Gemma's
            // own template does.
            let mut system = String::new();
            for m in messages {
                match m.role.as_str() {
                    "system" => system.push_str(&format!("{}\n\n", m.content.trim())),
                    role => {
                        let role = if role == "assistant" { "model" } else { "user" };
                        let content = if role == "user" {
                            format!("{}{}", std::mem::take(&mut system), m.content.trim())
                        } else {
                            m.content.trim().to_string()
                        };
                        text.push_str(&format!("<start_of_turn>{role}\n{content}<end_of_turn>\n"));
                    }
                }
            }
            text.push_str("<start_of_turn>model\n");
        }
        ChatFormat::Phi3 => {
            for m in messages {
                text.push_str(&format!("<|{}|>\n{}<|end|>\n", m.role, m.content.trim()));
            }
            text.push_str("<|assistant|>\n");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat() -> Vec<Message> {
        vec![
            Message { role: "system".into(), content: "Be brief.".into() },
            Message { role: "user".into(), content: "Pump P-1 at 4.2 bar.".into() },
            Message { role: "assistant".into(), content: "- P-1: 4.2 bar".into() },
            Message { role: "user".into(), content: "Fan F-2 tripped.".into() },
        ]
    }

    #[test]
    fn each_family_gets_its_own_markup_and_ends_at_the_answer() {
        let gemma = render(ChatFormat::Gemma, &chat());
        assert_eq!(
            gemma,
            "<start_of_turn>user\nBe brief.\n\nPump P-1 at 4.2 bar.<end_of_turn>\n<start_of_turn>model\n- P-1: 4.2 bar<end_of_turn>\n\
             <start_of_turn>user\nFan F-2 tripped.<end_of_turn>\n<start_of_turn>model\n"
        );
        let llama3 = render(ChatFormat::Llama3, &chat());
        assert!(
            llama3.starts_with("<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>")
        );
        assert!(llama3.ends_with("<|start_header_id|>assistant<|end_header_id|>\n\n"));
        let chatml = render(ChatFormat::ChatMl, &chat());
        assert!(
            chatml.contains("<|im_start|>system\nBe brief.<|im_end|>")
                && chatml.ends_with("<|im_start|>assistant\n")
        );
        let phi = render(ChatFormat::Phi3, &chat());
        assert!(
            phi.starts_with("<|system|>\nBe brief.<|end|>\n") && phi.ends_with("<|assistant|>\n")
        );
    }
}
