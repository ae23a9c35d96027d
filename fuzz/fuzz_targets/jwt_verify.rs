#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| moha_fuzz::jwt_verify(data));
