//! The store suite against the in-process store (`memory://NAME`), the one that tests and local
//! runs use instead of a server.

mod suite;

#[test]
fn the_store_suite_passes_in_memory() {
    let url = "memory://suite";
    suite::one_leader_among_three(url, "one");
    suite::close_hands_over_with_a_larger_token(url, "close");
    suite::resign_hands_over(url, "resign");
    suite::a_resign_request_reaches_the_leader(url, "ask");
    suite::status_reads_the_holder(url, "status");
    suite::many_elections_share_a_connection(url, "many", &|| 0);
}

#[test]
fn memory_urls_name_their_form() {
    let err = baton::Election::builder("memory://", "x")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("memory://NAME"), "{err}");
}
