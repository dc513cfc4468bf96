#include "crypto/age.hpp"

#include <algorithm>
#include <cstring>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "base/error.hpp"
#include "base/fs.hpp"
#include "base/output.hpp"
#include "base/text.hpp"

namespace ctldb::crypto {

namespace {

constexpr const char* kIntro = "age-encryption.org/v1\n";
constexpr std::size_t kChunk = 64 * 1024;
constexpr std::size_t kTag = 16;
constexpr std::size_t kMaxHeader = 64 * 1024;  // far more than any stanza list we accept

/// ASCII case, as Bech32 has it (one case throughout, either one).
std::string ascii_case(std::string s, bool upper) {
    const char from = upper ? 'a' : 'A';
    for (char& c : s)
        if (c >= from && c <= from + 25) c = static_cast<char>(upper ? c - 32 : c + 32);
    return s;
}

Error damaged(const std::string& what, const std::string& why) {
    return Error(ExitCode::failure, what + " is damaged: " + why,
                 "the backup cannot be trusted; use another one");
}

// --- encodings --------------------------------------------------------------------------

const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 without padding, as age writes it.
std::string b64_encode(const unsigned char* p, std::size_t n) {
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < n; ++i) {
        acc = (acc << 8) | p[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += kB64[(acc >> bits) & 63];
        }
    }
    if (bits > 0) out += kB64[(acc << (6 - bits)) & 63];
    return out;
}

/// Strict: no padding, no stray characters, unused bits zero (canonical).
bool b64_decode(const std::string& s, std::vector<unsigned char>& out) {
    out.clear();
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : s) {
        const char* at = c == '\0' ? nullptr : std::strchr(kB64, c);
        if (at == nullptr) return false;
        acc = (acc << 6) | static_cast<std::uint32_t>(at - kB64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<unsigned char>((acc >> bits) & 0xff));
        }
    }
    return bits < 6 && (acc & ((1u << bits) - 1)) == 0;
}

const char* kBech32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

std::uint32_t bech32_polymod(const std::vector<std::uint8_t>& v) {
    static const std::uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd,
                                         0x2a1462b3};
    std::uint32_t chk = 1;
    for (std::uint8_t x : v) {
        const std::uint32_t top = chk >> 25;
        chk = ((chk & 0x1ffffff) << 5) ^ x;
        for (int i = 0; i < 5; ++i)
            if ((top >> i) & 1) chk ^= gen[i];
    }
    return chk;
}

std::vector<std::uint8_t> hrp_expand(const std::string& hrp) {
    std::vector<std::uint8_t> v;
    for (char c : hrp)
        v.push_back(static_cast<std::uint8_t>(c) >> 5);
    v.push_back(0);
    for (char c : hrp)
        v.push_back(static_cast<std::uint8_t>(c) & 31);
    return v;
}

/// Regroup bits (8 -> 5 or 5 -> 8); false for non-zero padding.
bool regroup(const std::vector<std::uint8_t>& in, int from, int to, bool pad,
             std::vector<std::uint8_t>& out) {
    std::uint32_t acc = 0;
    int bits = 0;
    const std::uint32_t max = (1u << to) - 1;
    for (std::uint8_t x : in) {
        acc = (acc << from) | x;
        bits += from;
        while (bits >= to) {
            bits -= to;
            out.push_back(static_cast<std::uint8_t>((acc >> bits) & max));
        }
    }
    if (pad) {
        if (bits > 0) out.push_back(static_cast<std::uint8_t>((acc << (to - bits)) & max));
        return true;
    }
    return bits < from && ((acc << (to - bits)) & max) == 0;
}

std::string bech32_encode(const std::string& hrp, const Key32& key) {
    std::vector<std::uint8_t> data;
    regroup(std::vector<std::uint8_t>(key.begin(), key.end()), 8, 5, true, data);
    std::vector<std::uint8_t> v = hrp_expand(hrp);
    v.insert(v.end(), data.begin(), data.end());
    v.insert(v.end(), 6, 0);
    const std::uint32_t mod = bech32_polymod(v) ^ 1;
    std::string out = hrp + "1";
    for (std::uint8_t d : data)
        out += kBech32[d];
    for (int i = 0; i < 6; ++i)
        out += kBech32[(mod >> (5 * (5 - i))) & 31];
    return out;
}

/// Decode `text` (all lower or all upper case) with human-readable part
/// `hrp` into 32 bytes; false when it is not one.
bool bech32_decode(std::string text, const std::string& hrp, Key32& key) {
    const bool upper =
        std::any_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
    const bool lower =
        std::any_of(text.begin(), text.end(), [](char c) { return c >= 'a' && c <= 'z'; });
    if (upper && lower) return false;
    text = ascii_case(text, false);
    const std::size_t sep = text.rfind('1');
    if (sep == std::string::npos || text.substr(0, sep) != hrp || text.size() < sep + 7)
        return false;
    std::vector<std::uint8_t> values;
    for (std::size_t i = sep + 1; i < text.size(); ++i) {
        const char* at = std::strchr(kBech32, text[i]);
        if (at == nullptr || text[i] == '\0') return false;
        values.push_back(static_cast<std::uint8_t>(at - kBech32));
    }
    std::vector<std::uint8_t> v = hrp_expand(hrp);
    v.insert(v.end(), values.begin(), values.end());
    if (bech32_polymod(v) != 1) return false;
    values.resize(values.size() - 6);
    std::vector<std::uint8_t> bytes;
    if (!regroup(values, 5, 8, false, bytes) || bytes.size() != 32) return false;
    std::copy(bytes.begin(), bytes.end(), key.begin());
    return true;
}

// --- primitives (OpenSSL 3) -----------------------------------------------------------

void random_bytes(unsigned char* p, std::size_t n) {
    if (RAND_bytes(p, static_cast<int>(n)) != 1)
        throw Error(ExitCode::failure, "no random numbers from OpenSSL");
}

struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Key32 x25519_public(const Key32& secret) {
    Pkey k(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, secret.data(), 32));
    Key32 pub{};
    std::size_t len = 32;
    if (!k || EVP_PKEY_get_raw_public_key(k.get(), pub.data(), &len) != 1 || len != 32)
        throw Error(ExitCode::failure, "X25519 failed");
    return pub;
}

/// X25519(secret, peer); false for a low-order peer (an all-zero result).
bool x25519(const Key32& secret, const Key32& peer, Key32& shared) {
    Pkey mine(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, secret.data(), 32));
    Pkey theirs(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer.data(), 32));
    if (!mine || !theirs) return false;
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new(mine.get(), nullptr), EVP_PKEY_CTX_free);
    std::size_t len = 32;
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
        EVP_PKEY_derive_set_peer(ctx.get(), theirs.get()) != 1 ||
        EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != 32)
        return false;
    return std::any_of(shared.begin(), shared.end(), [](unsigned char c) { return c != 0; });
}

Key32 hkdf(const unsigned char* ikm, std::size_t ikm_len, const unsigned char* salt,
           std::size_t salt_len, const std::string& info) {
    Key32 out{};
    std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr),
                                                          EVP_KDF_free);
    std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(
        kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr, EVP_KDF_CTX_free);
    char digest[] = "SHA256";
    OSSL_PARAM params[5];
    int n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                    const_cast<unsigned char*>(ikm), ikm_len);
    if (salt_len > 0) {
        params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                        const_cast<unsigned char*>(salt), salt_len);
    }
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                    const_cast<char*>(info.data()), info.size());
    params[n] = OSSL_PARAM_construct_end();
    if (!ctx || EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1)
        throw Error(ExitCode::failure, "HKDF failed");
    return out;
}

Key32 hmac_sha256(const Key32& key, const std::string& data) {
    Key32 out{};
    std::size_t len = 0;
    if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                  reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
                  out.size(), &len) == nullptr ||
        len != 32)
        throw Error(ExitCode::failure, "HMAC failed");
    return out;
}

/// ChaCha20-Poly1305 of `in` with `key` and a 12-byte nonce; the tag is
/// appended. Decryption returns false when the tag does not match.
class Aead {
  public:
    Aead() : ctx_(EVP_CIPHER_CTX_new()) {}
    ~Aead() { EVP_CIPHER_CTX_free(ctx_); }
    Aead(const Aead&) = delete;
    Aead& operator=(const Aead&) = delete;

    void seal(const Key32& key, const unsigned char* nonce, const unsigned char* in, std::size_t n,
              unsigned char* out) {
        int len = 0;
        if (EVP_EncryptInit_ex(ctx_, EVP_chacha20_poly1305(), nullptr, key.data(), nonce) != 1 ||
            (n > 0 && EVP_EncryptUpdate(ctx_, out, &len, in, static_cast<int>(n)) != 1) ||
            EVP_EncryptFinal_ex(ctx_, out + len, &len) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kTag, out + n) != 1)
            throw Error(ExitCode::failure, "ChaCha20-Poly1305 failed");
    }

    bool open(const Key32& key, const unsigned char* nonce, const unsigned char* in,
              std::size_t n_with_tag, unsigned char* out) {
        if (n_with_tag < kTag) return false;
        const std::size_t n = n_with_tag - kTag;
        int len = 0;
        return EVP_DecryptInit_ex(ctx_, EVP_chacha20_poly1305(), nullptr, key.data(), nonce) == 1 &&
               (n == 0 || EVP_DecryptUpdate(ctx_, out, &len, in, static_cast<int>(n)) == 1) &&
               EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, kTag,
                                   const_cast<unsigned char*>(in + n)) == 1 &&
               EVP_DecryptFinal_ex(ctx_, out + len, &len) == 1;
    }

  private:
    EVP_CIPHER_CTX* ctx_;
};

/// The STREAM nonce of chunk `counter`: 11 bytes big-endian, then the last flag.
void chunk_nonce(std::uint64_t counter, bool last, unsigned char nonce[12]) {
    std::memset(nonce, 0, 12);
    for (int i = 0; i < 8; ++i)
        nonce[10 - i] = static_cast<unsigned char>(counter >> (8 * i));
    nonce[11] = last ? 1 : 0;
}

std::string wrap64(const std::string& b64) {
    std::string out;
    for (std::size_t i = 0; i <= b64.size(); i += 64) {
        out += b64.substr(i, 64) + "\n";
        if (i + 64 > b64.size()) break;
    }
    return out;
}

}  // namespace

// --- keys ---------------------------------------------------------------------------------

Recipient parse_recipient(const std::string& text) {
    Recipient r;
    if (!bech32_decode(text, "age", r.public_key) || text.rfind("age1", 0) != 0) {
        // An identity given by mistake is a secret: never repeated.
        const bool secret = ascii_case(text, true).find("SECRET-KEY") != std::string::npos;
        throw usage_error(secret
                              ? "an age identity (a secret key) was given where a recipient "
                                "belongs; it is not repeated here"
                              : "'" + printable(text.substr(0, 80)) + "' is not an age recipient",
                          "an X25519 public key: age1 followed by 58 characters "
                          "(age-keygen -y IDENTITY_FILE prints it)");
    }
    r.text = text;
    return r;
}

std::vector<Recipient> recipients_from(const std::string& value) {
    if (value.rfind("age1", 0) == 0) return {parse_recipient(value)};
    if (!fs::exists(value)) {
        throw usage_error("--encrypt-to " + printable(value) +
                              ": neither an age1... recipient nor a file of them",
                          "age-keygen -y IDENTITY_FILE prints the recipient of an identity");
    }
    std::vector<Recipient> out;
    for (std::string line : split(fs::read_file(value, 1 << 20, ExitCode::usage), '\n')) {
        line = trim_blanks(line);
        if (line.empty() || line[0] == '#') continue;
        out.push_back(parse_recipient(line));
    }
    if (out.empty()) throw usage_error("--encrypt-to " + value + " holds no recipient");
    return out;
}

namespace {

/// Identity files that age reads but ctldb does not: named, so the refusal
/// says what to do instead of "not an identity".
void refuse_other_identity_kinds(const std::string& path, const std::string& text) {
    if (text.rfind("age-encryption.org/v1\n", 0) == 0 ||
        text.rfind("-----BEGIN AGE ENCRYPTED FILE-----", 0) == 0) {
        throw usage_error("the identity file " + printable(path) +
                              " is itself encrypted (a passphrase-protected identity); ctldb "
                              "does not ask for passphrases",
                          "decrypt it where the restore runs (age -d -o KEY " + printable(path) +
                              ") or mount the plain identity from a Secret");
    }
    if (text.rfind("-----BEGIN OPENSSH PRIVATE KEY-----", 0) == 0) {
        throw usage_error("the identity file " + printable(path) +
                              " is an SSH key; ctldb reads X25519 age identities only",
                          "age-keygen makes one; encrypt to its age1... recipient");
    }
}

}  // namespace

std::vector<Identity> read_identity_file(const std::string& path) {
    std::vector<Identity> out;
    int line_no = 0;
    const std::string text = fs::read_file(path, 1 << 20, ExitCode::usage);
    refuse_other_identity_kinds(path, text);
    for (std::string line : split(text, '\n')) {
        ++line_no;
        line = trim_blanks(line);
        if (line.empty() || line[0] == '#') continue;
        Identity id;
        if (line.rfind("AGE-SECRET-KEY-1", 0) != 0 ||
            !bech32_decode(line, "age-secret-key-", id.secret)) {
            // Never the line itself: it may be a key.
            throw usage_error("the identity file " + path +
                                  " has a line that is not an age "
                                  "identity (line " +
                                  std::to_string(line_no) + ")",
                              "an identity file holds AGE-SECRET-KEY-1... lines, as age-keygen "
                              "writes them");
        }
        id.public_key = x25519_public(id.secret);
        out.push_back(id);
    }
    if (out.empty()) throw usage_error("the identity file " + path + " holds no identity");
    return out;
}

Identity generate_identity() {
    Identity id;
    random_bytes(id.secret.data(), id.secret.size());
    id.public_key = x25519_public(id.secret);
    return id;
}

std::string identity_text(const Identity& id) {
    return ascii_case(bech32_encode("age-secret-key-", id.secret), true);
}

std::string recipient_text(const Key32& public_key) {
    return bech32_encode("age", public_key);
}

bool looks_like_age(const std::string& head) {
    return head.rfind(kIntro, 0) == 0;
}

// --- encryption ---------------------------------------------------------------------------

struct Encryptor::State {
    Sink out;
    Key32 payload_key{};
    Aead aead;
    std::vector<unsigned char> plain, sealed;
    std::uint64_t counter = 0;
    bool finished = false;

    void seal_chunk(bool last) {
        unsigned char nonce[12];
        chunk_nonce(counter++, last, nonce);
        sealed.resize(plain.size() + kTag);
        aead.seal(payload_key, nonce, plain.data(), plain.size(), sealed.data());
        out(reinterpret_cast<const char*>(sealed.data()), sealed.size());
        plain.clear();
    }
};

Encryptor::Encryptor(const std::vector<Recipient>& recipients, Sink out)
    : s_(std::make_unique<State>()) {
    if (recipients.empty()) throw usage_error("encryption needs at least one recipient");
    s_->out = std::move(out);
    unsigned char file_key[16];
    random_bytes(file_key, sizeof file_key);
    std::string header = kIntro;
    for (const auto& r : recipients) {
        Key32 eph{}, shared{};
        random_bytes(eph.data(), eph.size());
        const Key32 share = x25519_public(eph);
        if (!x25519(eph, r.public_key, shared))
            throw usage_error("the recipient " + r.text + " is not a usable X25519 key");
        unsigned char salt[64];
        std::memcpy(salt, share.data(), 32);
        std::memcpy(salt + 32, r.public_key.data(), 32);
        const Key32 wrap =
            hkdf(shared.data(), shared.size(), salt, sizeof salt, "age-encryption.org/v1/X25519");
        unsigned char zero_nonce[12] = {};
        unsigned char body[16 + kTag];
        s_->aead.seal(wrap, zero_nonce, file_key, sizeof file_key, body);
        header += "-> X25519 " + b64_encode(share.data(), share.size()) + "\n" +
                  wrap64(b64_encode(body, sizeof body));
    }
    header += "---";
    const Key32 mac_key = hkdf(file_key, sizeof file_key, nullptr, 0, "header");
    const Key32 mac = hmac_sha256(mac_key, header);
    header += " " + b64_encode(mac.data(), mac.size()) + "\n";
    unsigned char nonce[16];
    random_bytes(nonce, sizeof nonce);
    s_->payload_key = hkdf(file_key, sizeof file_key, nonce, sizeof nonce, "payload");
    header.append(reinterpret_cast<const char*>(nonce), sizeof nonce);
    s_->out(header.data(), header.size());
    s_->plain.reserve(kChunk);
}

Encryptor::~Encryptor() = default;

void Encryptor::write(const char* data, std::size_t n) {
    while (n > 0) {
        // A full chunk is sealed only when more follows: the last one must
        // carry the last flag, and only an empty stream has an empty one.
        if (s_->plain.size() == kChunk) s_->seal_chunk(false);
        const std::size_t take = std::min(n, kChunk - s_->plain.size());
        s_->plain.insert(s_->plain.end(), data, data + take);
        data += take;
        n -= take;
    }
}

void Encryptor::finish() {
    if (s_->finished) return;
    s_->seal_chunk(true);
    s_->finished = true;
}

// --- decryption ---------------------------------------------------------------------------

struct Decryptor::State {
    std::vector<Identity> identities;
    Sink out;
    std::string what;
    std::string header;  // until the payload starts
    bool in_payload = false;
    Key32 payload_key{};
    Aead aead;
    std::vector<unsigned char> pending, plain;
    std::uint64_t counter = 0;
    bool ended = false;  // the last chunk was read

    /// The file key from one X25519 stanza, if one of our identities opens it.
    bool unwrap(const std::vector<std::string>& args, const std::vector<unsigned char>& body,
                unsigned char file_key[16]) {
        std::vector<unsigned char> share;
        if (args.size() != 2 || !b64_decode(args[1], share) || share.size() != 32 ||
            body.size() != 16 + kTag)
            throw damaged(what, "a malformed X25519 stanza in its age header");
        Key32 eph{};
        std::copy(share.begin(), share.end(), eph.begin());
        for (const auto& id : identities) {
            Key32 shared{};
            if (!x25519(id.secret, eph, shared)) continue;
            unsigned char salt[64];
            std::memcpy(salt, eph.data(), 32);
            std::memcpy(salt + 32, id.public_key.data(), 32);
            const Key32 wrap = hkdf(shared.data(), shared.size(), salt, sizeof salt,
                                    "age-encryption.org/v1/X25519");
            unsigned char zero_nonce[12] = {};
            if (aead.open(wrap, zero_nonce, body.data(), body.size(), file_key)) return true;
        }
        return false;
    }

    /// Parse the complete header (through the MAC line) and derive the
    /// payload key; false while more bytes are needed.
    bool parse_header() {
        const std::string intro = kIntro;
        if (header.compare(0, std::min(header.size(), intro.size()), intro, 0,
                           std::min(header.size(), intro.size())) != 0)
            throw damaged(what, "it is not an age file");
        const std::size_t mac_at = header.find("\n---");
        if (mac_at == std::string::npos || header.find('\n', mac_at + 1) == std::string::npos ||
            header.size() < header.find('\n', mac_at + 1) + 1 + 16) {
            if (header.size() > kMaxHeader) throw damaged(what, "no end to its age header");
            return false;
        }
        if (!looks_like_age(header)) throw damaged(what, "it is not an age file");
        const std::size_t mac_end = header.find('\n', mac_at + 1);
        std::vector<std::string> lines = split(header.substr(0, mac_at), '\n');
        unsigned char file_key[16];
        bool opened = false, any_x25519 = false;
        for (std::size_t i = 1; i < lines.size();) {
            if (lines[i].rfind("-> ", 0) != 0) throw damaged(what, "a malformed age header");
            const std::vector<std::string> args = split(lines[i].substr(3), ' ');
            std::string b64;
            for (++i; i < lines.size(); ++i) {
                b64 += lines[i];
                if (lines[i].size() < 64) {
                    ++i;
                    break;
                }
            }
            std::vector<unsigned char> body;
            if (!b64_decode(b64, body)) throw damaged(what, "a malformed age stanza body");
            if (args.empty() || args[0] != "X25519") continue;  // scrypt, ssh-*, plugins
            any_x25519 = true;
            if (!opened && unwrap(args, body, file_key)) opened = true;
        }
        if (!opened) {
            throw usage_error(what + " is encrypted, and no identity given opens it",
                              any_x25519 ? "give the identity file of one of its recipients "
                                           "(--identity FILE or CTLDB_AGE_IDENTITY_FILE)"
                                         : "it has no X25519 recipient (a passphrase or SSH "
                                           "key file): decrypt it with age first");
        }
        const std::string mac_line = header.substr(mac_at + 1, mac_end - mac_at - 1);
        std::vector<unsigned char> mac;
        if (mac_line.rfind("--- ", 0) != 0 || !b64_decode(mac_line.substr(4), mac) ||
            mac.size() != 32)
            throw damaged(what, "a malformed age header MAC");
        const Key32 want =
            hmac_sha256(hkdf(file_key, 16, nullptr, 0, "header"), header.substr(0, mac_at + 4));
        if (CRYPTO_memcmp(want.data(), mac.data(), 32) != 0)
            throw damaged(what, "its age header was altered (MAC mismatch)");
        const auto* nonce = reinterpret_cast<const unsigned char*>(header.data() + mac_end + 1);
        payload_key = hkdf(file_key, 16, nonce, 16, "payload");
        pending.assign(header.begin() + static_cast<std::ptrdiff_t>(mac_end + 1 + 16),
                       header.end());
        header.clear();
        in_payload = true;
        return true;
    }

    /// Open one sealed chunk of `n` bytes from `pending`.
    void open_chunk(std::size_t n, bool last) {
        unsigned char nonce[12];
        chunk_nonce(counter, last, nonce);
        plain.resize(n - kTag);
        if (!aead.open(payload_key, nonce, pending.data(), n, plain.data())) {
            throw damaged(what, last ? "its last age chunk fails authentication (cut or altered)"
                                     : "an age chunk fails authentication (altered)");
        }
        ++counter;
        if (last) {
            if (plain.empty() && counter > 1) throw damaged(what, "an empty last age chunk");
            ended = true;
        }
        pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
        if (!plain.empty()) out(reinterpret_cast<const char*>(plain.data()), plain.size());
    }

    /// Every chunk that is surely not the last (more bytes follow it).
    void drain() {
        while (pending.size() > kChunk + kTag) {
            if (ended) throw damaged(what, "data after the last age chunk");
            open_chunk(kChunk + kTag, false);
        }
    }
};

Decryptor::Decryptor(const std::vector<Identity>& identities, Sink out, std::string what)
    : s_(std::make_unique<State>()) {
    s_->identities = identities;
    s_->out = std::move(out);
    s_->what = std::move(what);
}

Decryptor::~Decryptor() = default;

void Decryptor::feed(const char* data, std::size_t n) {
    if (!s_->in_payload) {
        s_->header.append(data, n);
        if (!s_->parse_header()) return;
    } else {
        s_->pending.insert(s_->pending.end(), data, data + n);
    }
    s_->drain();
}

void Decryptor::finish() {
    if (!s_->in_payload) {
        if (!s_->parse_header()) throw damaged(s_->what, "its age header is cut short");
    }
    if (s_->ended) {
        if (!s_->pending.empty()) throw damaged(s_->what, "data after the last age chunk");
        return;
    }
    // What is left is the last chunk: a full one or a shorter one.
    if (s_->pending.size() < kTag) throw damaged(s_->what, "the age payload is cut short");
    s_->open_chunk(s_->pending.size(), true);
}

}  // namespace ctldb::crypto
