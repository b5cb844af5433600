use super::*;

fn ctx(by: &str, now: i64) -> Ctx {
    Ctx::new(by, "AST", now)
}

fn actor(n: u8) -> automerge::ActorId {
    automerge::ActorId::from(vec![n; 16])
}

fn incoming(id: &str, ext: &str, text: &str) -> ConversationCommand {
    ConversationCommand::Receive(IncomingInput {
        message_id: id.into(),
        external_id: ext.into(),
        text: text.into(),
        attachments: Vec::new(),
        location: None,
        sent_at_ms: Some(1),
        citizen: Citizen {
            name: Some("Айгерим".into()),
            ..Citizen::default()
        },
        classification: classify(text, ["assault"]),
    })
}

fn reply(id: &str, text: &str) -> ConversationCommand {
    ConversationCommand::Reply {
        message_id: id.into(),
        text: text.into(),
        automatic: false,
        about_card: None,
    }
}

fn doc() -> ConversationDoc {
    ConversationDoc::create(
        actor(1),
        "c1",
        Channel::Telegram,
        "12345",
        &ctx("system", 10),
    )
    .unwrap()
}

#[test]
fn r01_a_conversation_keeps_its_channel_messages_and_the_operator_who_answered() {
    let mut d = doc();
    d.apply(
        &incoming("m1", "u1", "Сәлеметсіз бе, көмек керек"),
        &ctx("system", 20),
    )
    .unwrap();
    let c = d.view().unwrap();
    assert_eq!(
        (c.channel, c.address.as_str()),
        (Channel::Telegram, "12345")
    );
    assert_eq!(c.state, ConversationState::Unassigned);
    assert_eq!(c.language, Language::Kk);
    assert_eq!(c.citizen.name.as_deref(), Some("Айгерим"));
    // Answering needs the conversation taken; the first operator wins.
    let refused = d.apply(&reply("a1", "Сәлем"), &ctx("op1", 30)).unwrap_err();
    assert_eq!(refused.code(), "inbox_not_taken");
    d.apply(&ConversationCommand::Take, &ctx("op1", 31))
        .unwrap();
    let taken = d
        .apply(&ConversationCommand::Take, &ctx("op2", 32))
        .unwrap_err();
    assert_eq!(taken.code(), "inbox_taken");
    assert_eq!(
        d.apply(&reply("a2", "Мен"), &ctx("op2", 33))
            .unwrap_err()
            .code(),
        "inbox_taken"
    );
    d.apply(
        &reply("a1", "Сәлеметсіз бе! Тыңдап тұрмын."),
        &ctx("op1", 40),
    )
    .unwrap();
    let c = d.view().unwrap();
    assert_eq!(c.state, ConversationState::WaitingCitizen);
    assert_eq!(c.messages[1].by.as_deref(), Some("op1"));
    assert_eq!(c.messages[1].delivery, Some(Delivery::Queued));
    assert_eq!(c.summary().unread, 0);
    d.apply(
        &ConversationCommand::Delivery {
            message_id: "a1".into(),
            state: Delivery::Sent,
            reason: None,
            external_id: Some("tg-77".into()),
        },
        &ctx("system", 50),
    )
    .unwrap();
    // A state never goes back.
    let back = d
        .apply(
            &ConversationCommand::Delivery {
                message_id: "a1".into(),
                state: Delivery::Sent,
                reason: None,
                external_id: None,
            },
            &ctx("system", 51),
        )
        .unwrap_err();
    assert_eq!(back.code(), "delivery_already_recorded");
    d.apply(&incoming("m2", "u2", "рақмет"), &ctx("system", 60))
        .unwrap();
    let c = d.view().unwrap();
    assert_eq!(c.messages[1].delivery, Some(Delivery::Sent));
    assert_eq!(c.messages[1].external_id.as_deref(), Some("tg-77"));
    assert_eq!(c.state, ConversationState::Assigned);
    assert_eq!(c.summary().unread, 1);
    assert_eq!(c.updated_at_ms, 60);
}

#[test]
fn a_repeated_delivery_id_is_refused_and_stored_once() {
    let mut d = doc();
    d.apply(&incoming("m1", "u1", "текст"), &ctx("system", 20))
        .unwrap();
    let again = d
        .apply(&incoming("m9", "u1", "текст"), &ctx("system", 21))
        .unwrap_err();
    assert_eq!(again.code(), "message_repeated");
    assert_eq!(d.view().unwrap().messages.len(), 1);
}

#[test]
fn bad_messages_are_refused_with_nothing_written() {
    let mut d = doc();
    let heads = d.heads();
    for (cmd, code) in [
        (incoming("m1", "u1", "  "), "message_empty"),
        (incoming("m1", "", "текст"), "invalid_field"),
        (
            incoming("m1", "u1", &"я".repeat(limits::TEXT_CHARS_MAX + 1)),
            "invalid_field",
        ),
    ] {
        assert_eq!(d.apply(&cmd, &ctx("system", 20)).unwrap_err().code(), code);
    }
    assert_eq!(d.heads(), heads);
}

#[test]
fn a_closed_conversation_takes_no_operator_answer_but_the_node_may_still_tell_the_citizen() {
    let mut d = doc();
    d.apply(&incoming("m1", "u1", "стреляют"), &ctx("system", 20))
        .unwrap();
    assert!(d.view().unwrap().urgent);
    d.apply(&ConversationCommand::Take, &ctx("op1", 21))
        .unwrap();
    d.apply(&ConversationCommand::Close, &ctx("op1", 22))
        .unwrap();
    assert_eq!(
        d.apply(&reply("a1", "ещё"), &ctx("op1", 23))
            .unwrap_err()
            .code(),
        "conversation_closed"
    );
    d.apply(
        &ConversationCommand::Reply {
            message_id: "t1".into(),
            text: "Ваше сообщение отработано".into(),
            automatic: true,
            about_card: Some("card-1".into()),
        },
        &ctx("system", 24),
    )
    .unwrap();
    let c = d.view().unwrap();
    assert_eq!(c.state, ConversationState::Closed);
    assert_eq!(c.told_cards, vec!["card-1".to_string()]);
}

#[test]
fn concurrent_takes_on_two_replicas_merge_to_the_first_in_log_order() {
    let mut a = doc();
    a.apply(&incoming("m1", "u1", "помогите"), &ctx("system", 20))
        .unwrap();
    let bytes = a.save();
    let mut b = ConversationDoc::load([bytes.as_slice()]).unwrap();
    b.set_actor(actor(2));
    a.apply(&ConversationCommand::Take, &ctx("op1", 30))
        .unwrap();
    b.apply(&ConversationCommand::Take, &ctx("op2", 30))
        .unwrap();
    let (ba, bb) = (a.save(), b.save());
    a.automerge().load_incremental(&bb).unwrap();
    b.automerge().load_incremental(&ba).unwrap();
    let (va, vb) = (a.view().unwrap(), b.view().unwrap());
    assert_eq!(va.assignee, vb.assignee);
    assert!(va.assignee.is_some());
}
