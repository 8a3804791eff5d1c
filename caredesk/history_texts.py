"""What customers, the assistant and agents say in the seeded conversation history.

Plain data, written for this project (no sentences from public data sets). Customer messages come
in moods (calm, upset, angry); their sentiment is not written down here but computed by the real
scorer when the history is seeded, so it always matches the text. ``{ref}`` is the order
reference the message is about. Nothing here names a person, an address or a contact detail.

Bot replies are domain.yml responses, looked up by name when the history is seeded; the texts in
``BUILT_IN_RESPONSES`` are used only for a response that domain.yml does not (yet) have.
"""

from __future__ import annotations

MOODS = ("calm", "upset", "angry")

# Requests about one order: intent -> mood -> phrasings.
ORDER_REQUESTS: dict[str, dict[str, tuple[str, ...]]] = {
    "track_order": {
        "calm": ("Where is my order {ref}?", "Hi, can you tell me the status of order {ref}?",
                 "When will {ref} arrive?", "Has my order {ref} shipped yet?", "tracking for {ref} please",
                 "Could you check order {ref} for me?", "what's happening with {ref}"),
        "upset": ("My order {ref} still hasn't arrived, where is it?", "It's been days and {ref} is still not here.",
                  "Order {ref} is late. What is going on?", "I'm still waiting for {ref}, this is taking too long.",
                  "Why is {ref} taking so long? I needed it yesterday."),
        "angry": ("This is ridiculous, order {ref} is still not here!!",
                  "Third time I ask: WHERE IS MY ORDER {ref}?",
                  "Unacceptable. {ref} should have arrived days ago and nobody answers.",
                  "I am fed up. {ref} never arrived and your tracking is useless.",
                  "Worst delivery ever, {ref} is a week late. Terrible service."),
    },
    "check_invoice": {
        "calm": ("Can I get the invoice for {ref}?", "I need an invoice for order {ref}", "invoice {ref} please"),
        "upset": ("I still haven't got an invoice for {ref} and I need it for my accounts.",),
        "angry": ("How many times do I have to ask for the invoice for {ref}?!",),
    },
    "track_refund": {
        "calm": ("Where is my refund for {ref}?", "Has the refund for {ref} been paid?",
                 "When do I get the money back for {ref}?"),
        "upset": ("My refund for {ref} is still not here, it's been over a week.",
                  "Still waiting for the refund on {ref}. Why does it take so long?"),
        "angry": ("Still no refund for {ref}. This is a scam!",
                  "I want my money back for {ref} NOW, fed up with waiting",
                  "Refund for {ref} STILL missing. Ridiculous."),
    },
    "cancel_order": {
        "calm": ("I want to cancel order {ref}", "Please cancel {ref}", "Can I still cancel {ref}?"),
        "upset": ("Cancel {ref}, it takes far too long.", "I ordered {ref} by mistake, please cancel it quickly."),
        "angry": ("Cancel {ref}. Waste of time, I'll buy elsewhere.",),
    },
    "get_refund": {
        "calm": ("I'd like to return order {ref}", "How do I send back {ref}?",
                 "I want to return {ref}, it doesn't fit"),
        "upset": ("The item from {ref} arrived damaged, I want to return it.",
                  "{ref} is not what the pictures showed. Return please."),
        "angry": ("{ref} arrived broken. Useless product, I want a refund.",
                  "Junk. {ref} stopped working after two days."),
    },
    "complaint": {
        "calm": ("I'd like to make a complaint about order {ref}.",),
        "upset": ("I want to make a complaint about order {ref}, the box was crushed.",
                  "The courier left {ref} outside in the rain, not happy about that.",
                  "The wrong item came in {ref}."),
        "angry": ("I want to complain. {ref} arrived damaged and nobody answers my e-mails!!",
                  "Disgusting service. {ref} was thrown over the fence and is broken.",
                  "I'm sick of this. Second time an order ({ref}) arrives broken."),
    },
}

# General questions the assistant answers from the shop's policy: intent -> phrasings.
GENERAL_REQUESTS: dict[str, tuple[str, ...]] = {
    "delivery_options": ("What delivery options do you have?", "Do you offer express shipping?",
                         "can I pick up my parcel somewhere"),
    "delivery_period": ("How long does delivery take?", "How many days until an order arrives?"),
    "check_payment_methods": ("Which payment methods do you accept?", "Can I pay with PayPal?",
                              "do you take klarna"),
    "check_refund_policy": ("What is your return policy?", "How long do I have to return something?"),
    "check_cancellation_fee": ("Is there a fee if I cancel?", "Does cancelling cost anything?"),
    "recover_password": ("I forgot my password", "How do I reset my password?"),
    "create_account": ("How do I create an account?", "I want to sign up"),
    "registration_problems": ("I can't register, it keeps saying error", "Sign up doesn't work for me"),
    "contact_customer_service": ("How can I contact customer service?", "What are your opening hours?"),
}
# The same, asked by someone already annoyed.
GENERAL_UPSET = {
    "registration_problems": ("Your sign up page is broken, I tried five times!",),
    "recover_password": ("The password reset mail never arrived, this is annoying.",),
    "delivery_period": ("Why does delivery take so long with you?",),
}

GREETINGS = ("Hi", "Hello", "hey there", "Good morning", "hi!", "Hello, I need some help")
THANKS = ("Thanks!", "thank you", "Great, thanks a lot", "ok thanks", "Perfect, thank you!", "thx")
THANKS_FLAT = ("ok", "fine", "ok then")
GOODBYES = ("bye", "Goodbye!", "that's all, bye")
UNCLEAR = ("the thing with the blue box", "hmm it's about the thing from before", "can u do the stuff",
           "what about my thing", "it says error 3 when i click", "parcel neighbour??", "the app",
           "i did what it said but nothing", "same as yesterday")
UNCLEAR_AGAIN = ("no that's not it", "none of those", "you don't understand me", "not that either")
ASK_PERSON = ("I want to talk to a human", "Can I speak to a real person please?", "agent please",
              "Let me talk to someone from your team", "human")
ASK_PERSON_ANGRY = ("Get me a real person NOW", "I'm done with this bot, human please!",
                    "Useless bot. Let me talk to a human.")
WAITING = ("Hello? Is anyone there?", "still waiting...", "hello??")
CALMER = ("Ok, thank you for sorting it out", "That helps, thanks", "Alright, thanks for your help",
          "Thank you, much appreciated", "ok good, thanks for the quick help", "Fine, thank you.")
STILL_UNHAPPY = ("ok. I hope it really arrives this time.", "Fine. But this should not happen.")
REVIEW = ("I'd like to leave some feedback", "Can I rate your service?", "I want to give feedback")
ISSUE_DETAILS = {
    "upset": ("The box was crushed and one item is scratched.", "The parcel was left outside and got wet.",
              "I got a different colour than I ordered."),
    "calm": ("One item is missing from the parcel.", "The size label was wrong on the item."),
}
FEEDBACK_COMMENTS = {
    1: ("Took far too long.", "Nobody solved my problem."),
    2: ("Slow answers.", "The bot did not understand me."),
    3: ("It was ok.", "Fine, but slow."),
    4: ("Quick help, thanks.", "Good service."),
    5: ("Very helpful, thank you!", "Fast and friendly, great service."),
}
NO_COMMENT = ("no", "no thanks", "nope")

# What agents write (signed with their user name in the console; no customer's name here).
AGENT_GREETINGS = ("Hi, I'm from the support team and I've read what you told our assistant.",
                   "Hello! I've taken over from our assistant and I'm looking at it now.",
                   "Hi there, thanks for waiting. I've read the conversation so far.")
AGENT_FIXES = {
    "track_order": ("I've checked {ref} with the carrier: it's on its way and should arrive within two working days. "
                    "I've asked them to prioritise it.",
                    "I'm sorry about the delay with {ref}. I've opened a trace with the carrier and will e-mail "
                    "you as soon as they answer."),
    "track_refund": ("I've checked the refund for {ref}: it's been released today and should reach you in a few days.",
                     "Sorry for the wait on {ref}. I've pushed the refund through; you'll get a confirmation e-mail."),
    "get_refund": ("I'm sorry {ref} arrived like that. I've opened the return and e-mailed you a free label.",),
    "complaint": ("I'm really sorry about {ref}. I've arranged a replacement that ships today at no cost.",
                  "Sorry about {ref}, that shouldn't happen. I've refunded the shipping and sent a replacement."),
    "cancel_order": ("I've looked at {ref} and sorted it out for you.",),
    "check_invoice": ("I've e-mailed you the invoice for {ref}.",),
    "general": ("I've checked that for you: you'll get an e-mail with the details in a few minutes.",
                "Thanks for explaining. I've fixed it on our side; please try again now."),
}
AGENT_CLOSINGS = ("Is there anything else I can do for you?", "Glad I could help. I'll hand you back to our assistant.",
                  "You're welcome! Have a nice day.")

# English texts for responses domain.yml may not have yet (domain.yml wins when it has them).
BUILT_IN_RESPONSES = {
    "utter_order_status_placed": "Order {reference} ({items}) is placed and waiting for payment.",
    "utter_order_status_paid": "Order {reference} ({items}) is paid and being prepared.",
    "utter_order_status_packed": "Order {reference} ({items}) is packed and about to be handed to the carrier.",
    "utter_order_status_shipped_tracked": "Order {reference} ({items}) is on its way. It's with {carrier}, "
                                          "tracking number {tracking_number}, expected {eta}. Track it here: "
                                          "{tracking_url}",
    "utter_order_status_delivered": "Order {reference} ({items}) is delivered. It was delivered on {delivered_on} "
                                    "by {carrier}.",
    "utter_order_status_cancelled": "Order {reference} ({items}) is cancelled.",
    "utter_order_status_returned": "Order {reference} ({items}) is returned.",
    "utter_cancel_question_free_refund": "Cancel order {reference} ({total})? It's free of charge, and {refund} goes "
                                         "back to you.",
    "utter_cancel_question_free": "Cancel order {reference} ({total})? It's free of charge.",
    "utter_cancelled": "Done: order {reference} is cancelled.",
    "utter_cancelled_refund": "Done: order {reference} is cancelled. Your refund of {amount} should arrive by "
                              "{expected_by}.",
    "utter_return_opened_free_label": "Your return for order {reference} is open. We've e-mailed you a free return "
                                      "label. Please send it back by {return_by}. Once it reaches us we refund "
                                      "{amount} to your original payment method within {refund_days} days.",
    "utter_refund_processing": "The refund of {amount} for order {reference} is being processed; it should reach "
                               "you by {expected_by}.",
    "utter_refund_paid": "The refund of {amount} for order {reference} was paid out on {paid_on}.",
    "utter_refund_none": "There's no refund for order {reference} yet.",
    "utter_invoice": "Invoice {number} for order {reference}, issued {issued_on}: {lines}. Total {total} incl. VAT. "
                     "You can download the PDF under \"My account\" > \"Orders\".",
    "utter_no_invoice_yet": "Order {reference} has no invoice yet: it's issued once the payment arrives.",
    "utter_refund_policy_free_label": "You can return delivered items within {return_days} days with a free return "
                                      "label. Once the parcel reaches us we refund the full price to your original "
                                      "payment method within {refund_days} days. Cancelled orders that were paid "
                                      "are refunded too.",
    "utter_delivery_options": "We offer:\n{options}",
    "utter_delivery_period": "Orders ship within a working day. Delivery then takes (working days): {periods}. "
                             "Once it ships you get a tracking link.",
    "utter_payment_methods_with_notes": "You can pay with: {methods}. {notes}",
    "utter_cancellation_fees_paid": "Cancelling is free while an order is {free_while}; it costs {fees}. Once an "
                                    "order has shipped it can't be cancelled, but you can return it.",
    "utter_contact_details": "Our customer service is available {hours}, at {email}; we answer within "
                             "{reply_hours} hours. I can also get you a colleague here in the chat - just say "
                             "\"human\".",
    "utter_issue_submitted": "Thank you, I've passed this to our team as ticket #{ticket}. Someone will get back to "
                             "you within {reply_hours} hours.",
    "utter_feedback_thanks": "Thank you for your feedback - it really helps us get better.",
    "utter_retention_offer": "I'm sorry this hasn't gone well. As a thank-you for staying with us we'd like to offer "
                             "you {percent}% off your next order (up to {voucher}); a colleague will add it to your "
                             "account.",
    "utter_handed_over_live": "I've asked a colleague to take over (ticket #{ticket}). They'll answer right here, "
                              "usually within {reply_minutes} minutes; until then I'll keep quiet so nothing gets "
                              "mixed up.",
    "utter_handed_over_by_email": "Our team isn't in the chat right now ({hours}), so I've opened ticket #{ticket} "
                                  "and a colleague will e-mail you within {reply_hours} hours. Meanwhile I'm happy "
                                  "to keep helping.",
    "utter_rephrase": "Sorry, I'm not sure I understood. Did you mean one of these?",
    "utter_rephrase_again": "I'm still not sure I understand, sorry. Is it one of these, or shall I get a colleague?",
}
