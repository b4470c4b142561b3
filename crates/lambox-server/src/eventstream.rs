//! AWS's event stream framing (`application/vnd.amazon.eventstream`), as
//! InvokeWithResponseStream answers with it: each message is a prelude (total length, headers
//! length, the prelude's CRC32), headers, a payload and the CRC32 of all of it. Pure logic.

/// The IEEE CRC32 table (the polynomial zlib and AWS use), computed at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// The CRC32 of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |c, &b| {
        CRC_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// One message with string headers (type 7), in the order given.
pub fn message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (name, value) in headers {
        h.push(u8::try_from(name.len()).expect("a header name is at most 255 bytes"));
        h.extend_from_slice(name.as_bytes());
        h.push(7);
        h.extend_from_slice(
            &u16::try_from(value.len())
                .expect("a header value is at most 65535 bytes")
                .to_be_bytes(),
        );
        h.extend_from_slice(value.as_bytes());
    }
    let total = 12 + h.len() + payload.len() + 4;
    let mut m = Vec::with_capacity(total);
    m.extend_from_slice(&(total as u32).to_be_bytes());
    m.extend_from_slice(&(h.len() as u32).to_be_bytes());
    let prelude_crc = crc32(&m);
    m.extend_from_slice(&prelude_crc.to_be_bytes());
    m.extend_from_slice(&h);
    m.extend_from_slice(payload);
    let crc = crc32(&m);
    m.extend_from_slice(&crc.to_be_bytes());
    m
}

/// A `PayloadChunk` event of InvokeWithResponseStream.
pub fn payload_chunk(bytes: &[u8]) -> Vec<u8> {
    message(
        &[
            (":event-type", "PayloadChunk"),
            (":content-type", "application/octet-stream"),
            (":message-type", "event"),
        ],
        bytes,
    )
}

/// The `InvokeComplete` event, its payload the JSON given.
pub fn invoke_complete(json: &[u8]) -> Vec<u8> {
    message(
        &[
            (":event-type", "InvokeComplete"),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        json,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn crc32_is_zlibs() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    // Vectors computed with zlib's CRC32 from the framing of smithy-rs's event stream codec.
    #[test]
    fn messages_match_known_frames() {
        assert_eq!(
            hex(&payload_chunk(b"hi")),
            "0000006c0000005ab25efdcf0b3a6576656e742d7479706507000c5061796c6f61644368756e6b0d3a636f6e74656e742d747970650700186170706c69636174696f6e2f6f637465742d73747265616d0d3a6d6573736167652d747970650700056576656e7468691162e469"
        );
        assert_eq!(
            hex(&invoke_complete(b"{}")),
            "00000066000000541f56c8690b3a6576656e742d7479706507000e496e766f6b65436f6d706c6574650d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b7d7006d467"
        );
    }
}
