//! The standing attack suite (issue 12). Not derived from the access matrix: each test is an
//! attack, written from the attacker's side (a fresh sign-up, a staff member overreaching, a
//! failing later step, a raw SQL session as PostgREST opens it, a hostile HTTP body), and asserts
//! the refusal by its SQLSTATE or HTTP status. One module per class of break.

mod common;

mod definer; // 4. definer functions steered by the caller's temporary objects
mod gateway; // 7. the local gateway stalled or exhausted by one request
mod keys; // issue 14: forged tokens and misused API keys at the gateway and the functions
mod ownership; // 2. ownership links rewritten by staff
mod privileges; // 5. SQL privileges broader than the API needs
mod public_face; // 8. anon sees more of a published project than a portfolio shows
mod server_fields; // 3. clients choosing fields the server should choose
mod spend; // 1. AI spend taken without being charged
mod spend_agents; // 1. AI spend taken without being charged, in the other AI functions
mod tampering; // 6. counters and the audit trail edited without a trace
