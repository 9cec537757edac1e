pub mod gateway_plaintext_http;
