// The age file format (age-encryption.org/v1, X25519 recipients): what a
// backup job encrypts with public keys only, and what a restore decrypts
// with an identity the job never holds. Files are the standard ones: the
// `age` tool reads what this writes and this reads what `age -r` writes.
// Streaming both ways, in 64 KiB chunks, with bounded memory.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ctldb::crypto {

using Key32 = std::array<unsigned char, 32>;

/// An X25519 recipient: "age1..." (Bech32).
struct Recipient {
    Key32 public_key{};
    std::string text;  ///< as given, for the manifest
};

/// An X25519 identity: "AGE-SECRET-KEY-1..." (Bech32, upper case).
struct Identity {
    Key32 secret{};
    Key32 public_key{};
};

/// Parse "age1..."; throws Error(usage) naming what is wrong.
Recipient parse_recipient(const std::string& text);
/// Every recipient of --encrypt-to VALUE: one "age1..." key, or a file of
/// them (one per line, # comments and blank lines allowed, as age -R).
std::vector<Recipient> recipients_from(const std::string& value);
/// The identities in an identity file (as age-keygen writes it: comments
/// and AGE-SECRET-KEY-1 lines); throws Error(usage) when it holds none or a
/// line is neither. The file's content never reaches a message.
std::vector<Identity> read_identity_file(const std::string& path);
/// A new identity and its recipient (for tests and `ctldb` key generation).
Identity generate_identity();
std::string identity_text(const Identity& id);
std::string recipient_text(const Key32& public_key);

using Sink = std::function<void(const char*, std::size_t)>;

/// Encrypts a stream to `recipients` into `out`: the header at once, then
/// the payload as it is written.
class Encryptor {
  public:
    Encryptor(const std::vector<Recipient>& recipients, Sink out);
    ~Encryptor();
    void write(const char* data, std::size_t n);
    /// The last chunk; the stream is complete only after this.
    void finish();
    Encryptor(const Encryptor&) = delete;
    Encryptor& operator=(const Encryptor&) = delete;

  private:
    struct State;
    std::unique_ptr<State> s_;
};

/// Decrypts an age stream fed in any pieces into `out`. Throws
/// Error(usage) when no identity opens the header, Error(failure) for a
/// damaged or truncated file; nothing unauthenticated reaches `out`.
class Decryptor {
  public:
    Decryptor(const std::vector<Identity>& identities, Sink out, std::string what);
    ~Decryptor();
    void feed(const char* data, std::size_t n);
    /// The end of the input: a stream without its last chunk is refused.
    void finish();
    Decryptor(const Decryptor&) = delete;
    Decryptor& operator=(const Decryptor&) = delete;

  private:
    struct State;
    std::unique_ptr<State> s_;
};

/// "age-encryption.org/v1\n": how an age file starts.
bool looks_like_age(const std::string& head);

}  // namespace ctldb::crypto
