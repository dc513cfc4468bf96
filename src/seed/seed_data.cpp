#include "seed/seed_data.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "base/signals.hpp"

namespace ctldb::seed {

namespace {

/// splitmix64: small, fast, and the same on every machine.
class Rng {
  public:
    explicit Rng(std::uint64_t seed) : s_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    /// Uniform in [0, n).
    std::uint64_t below(std::uint64_t n) { return next() % n; }
    bool chance(unsigned percent) { return below(100) < percent; }

  private:
    std::uint64_t s_;
};

/// A stream per (seed, kind, index): a user's data does not depend on the
/// batch size or on other users.
Rng stream(std::uint64_t seed, std::uint64_t kind, std::uint64_t index) {
    Rng mix(seed ^ (kind * 0xD1B54A32D192ED03ULL));
    for (int i = 0; i < 2; ++i)
        mix.next();
    return Rng(mix.next() ^ (index * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL));
}

/// A UUID (version 4 layout) drawn from a generator stream.
struct Uuid {
    unsigned char bytes[16];
    std::string text() const {
        static const char* hex = "0123456789abcdef";
        std::string s;
        s.reserve(36);
        for (int i = 0; i < 16; ++i) {
            if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
            s += hex[bytes[i] >> 4];
            s += hex[bytes[i] & 15];
        }
        return s;
    }
};

Uuid uuid(Rng& rng) {
    Uuid u;
    std::uint64_t a = rng.next(), b = rng.next();
    a = (a & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
    b = (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant 1
    for (int i = 0; i < 8; ++i) {
        u.bytes[i] = static_cast<unsigned char>(a >> (8 * (7 - i)));
        u.bytes[8 + i] = static_cast<unsigned char>(b >> (8 * (7 - i)));
    }
    return u;
}

// All generated times lie before this fixed instant, so a seed always
// produces the same rows whenever it runs.
constexpr std::int64_t kEpoch = 1767225600;         // 2026-01-01T00:00:00Z
constexpr std::int64_t kPostgresEpoch = 946684800;  // 2000-01-01T00:00:00Z

/// Rows in COPY's binary format: no text parsing on the server (uuid and
/// timestamp input dominate a text COPY of these tables).
class BinaryRows {
  public:
    explicit BinaryRows(std::string& out) : out_(out) {}
    void row(int fields) { u16(static_cast<std::uint16_t>(fields)); }
    void null() { u32(0xFFFFFFFFU); }
    void uuid(const Uuid& u) {
        u32(16);
        out_.append(reinterpret_cast<const char*>(u.bytes), 16);
    }
    void text(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        out_.append(s.data(), s.size());
    }
    void boolean(bool b) {
        u32(1);
        out_ += static_cast<char>(b ? 1 : 0);
    }
    void int16(int v) {
        u32(2);
        u16(static_cast<std::uint16_t>(v));
    }
    void timestamptz(std::int64_t unix_seconds) {
        u32(8);
        u64(static_cast<std::uint64_t>((unix_seconds - kPostgresEpoch) * 1000000));
    }
    /// numeric with two decimals from a whole number of cents (>= 0).
    void cents(std::int64_t c) {
        std::uint16_t digits[4];
        int n = 0;
        std::int64_t whole = c / 100;
        const int frac = static_cast<int>(c % 100) * 100;  // base-10000 digit after the point
        std::uint16_t int_digits[3];
        int ni = 0;
        while (whole > 0 && ni < 3) {
            int_digits[ni++] = static_cast<std::uint16_t>(whole % 10000);
            whole /= 10000;
        }
        for (int i = ni - 1; i >= 0; --i)
            digits[n++] = int_digits[i];
        const int weight = ni > 0 ? ni - 1 : -1;
        if (frac != 0) digits[n++] = static_cast<std::uint16_t>(frac);
        while (n > 0 && digits[n - 1] == 0)
            --n;  // no trailing zero digits
        u32(static_cast<std::uint32_t>(8 + 2 * n));
        u16(static_cast<std::uint16_t>(n));
        u16(static_cast<std::uint16_t>(n == 0 ? 0 : weight));
        u16(0);  // positive
        u16(2);  // display scale
        for (int i = 0; i < n; ++i)
            u16(digits[i]);
    }
    void jsonb(std::string_view json) {
        u32(static_cast<std::uint32_t>(json.size() + 1));
        out_ += '\1';  // jsonb binary format version
        out_.append(json.data(), json.size());
    }
    void inet4(unsigned a, unsigned b, unsigned c, unsigned d) {
        u32(8);
        const char v[8] = {2 /* PGSQL_AF_INET */,
                           32,
                           0,
                           4,
                           static_cast<char>(a),
                           static_cast<char>(b),
                           static_cast<char>(c),
                           static_cast<char>(d)};
        out_.append(v, 8);
    }

  private:
    void u16(std::uint16_t v) {
        out_ += static_cast<char>(v >> 8);
        out_ += static_cast<char>(v & 0xFF);
    }
    void u32(std::uint32_t v) {
        u16(static_cast<std::uint16_t>(v >> 16));
        u16(static_cast<std::uint16_t>(v & 0xFFFF));
    }
    void u64(std::uint64_t v) {
        u32(static_cast<std::uint32_t>(v >> 32));
        u32(static_cast<std::uint32_t>(v & 0xFFFFFFFFU));
    }
    std::string& out_;
};

constexpr const char* kFirst[] = {"olivia", "liam",  "emma",  "noah",  "ava",   "lucas", "mia",
                                  "ethan",  "sofia", "mateo", "amara", "kenji", "priya", "omar",
                                  "lena",   "yusuf", "chloe", "diego", "hana",  "ivan"};
constexpr const char* kLast[] = {"smith",  "garcia", "muller", "rossi",   "kim",    "nguyen",
                                 "silva",  "cohen",  "novak",  "okafor",  "tanaka", "patel",
                                 "jensen", "haddad", "lopez",  "schmidt", "dubois", "singh"};
constexpr const char* kBrands[] = {"visa", "mastercard", "amex", "discover"};
constexpr const char* kActions[] = {"user.view",    "user.update",   "subscription.update",
                                    "payment.view", "refund.review", "user.suspend"};
/// Locale with a country and a postal code that belong to it.
struct Place {
    const char* locale;
    const char* country;
    const char* postal_code;
};
constexpr Place kPlaces[] = {{"en-US", "US", "94107"},    {"en-US", "US", "10001"},
                             {"en-GB", "GB", "EC1A 1BB"}, {"de-DE", "DE", "10115"},
                             {"fr-FR", "FR", "75002"},    {"es-ES", "ES", "28013"},
                             {"ja-JP", "JP", "100-0005"}, {"pt-BR", "BR", "01310-100"}};
constexpr const char* kUserAgents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80"};
/// Decline codes with the message Stripe shows for them.
constexpr const char* kDeclines[][2] = {
    {"card_declined", "Your card was declined."},
    {"insufficient_funds", "Your card has insufficient funds."},
    {"expired_card", "Your card has expired."},
    {"incorrect_cvc", "Your card's security code is incorrect."}};
constexpr const char* kRefundDetails[] = {
    "Customer asked for a refund within the 14-day window.",
    "Charged twice for the same invoice; refunding the duplicate.",
    "Service outage during the billing period; prorated credit.",
    "Card reported stolen; charge confirmed as fraudulent.",
    "Goodwill refund approved by finance."};

template <std::size_t N, typename T>
const T& pick(Rng& rng, const T (&items)[N]) {
    return items[rng.below(N)];
}

/// n characters from [0-9A-Za-z], as in Stripe's opaque receipt tokens.
void append_token(std::string& s, Rng& rng, int n) {
    static const char* alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    std::uint64_t bits = 0;
    int left = 0;
    for (int i = 0; i < n; ++i) {
        if (left == 0) {
            bits = rng.next();
            left = 10;  // 10 draws of 6 bits each from 64 random bits
        }
        s += alphabet[(bits & 63) % 62];
        bits >>= 6;
        --left;
    }
}

void append_hex(std::string& s, Rng& rng, int n) {
    static const char* hex = "0123456789abcdef";
    std::uint64_t bits = 0;
    for (int i = 0; i < n; ++i) {
        if (i % 16 == 0) bits = rng.next();
        s += hex[bits & 15];
        bits >>= 4;
    }
}

constexpr int kAdmins = 3;
constexpr std::int64_t kDay = 86400;

Uuid admin_id(std::uint64_t seed, int k) {
    Rng r = stream(seed, 1, static_cast<std::uint64_t>(k));
    return uuid(r);
}

}  // namespace

std::string admin_id_text(std::uint64_t seed, int k) {
    return admin_id(seed, k).text();
}

// users: id, email, auth0_id, name, given_name, family_name, picture_url,
// locale, email_verified, last_login_at, created_at, updated_at
constexpr int kUserColumns = 12;

void generate_admins(std::uint64_t seed, Buffers& b) {
    static const char* roles[] = {"super_admin", "support_admin", "finance_admin"};
    BinaryRows users(b.users), admin_roles(b.roles);
    for (int k = 0; k < kAdmins; ++k) {
        Rng r = stream(seed, 2, static_cast<std::uint64_t>(k));
        const std::string n = std::to_string(k + 1), s = std::to_string(seed);
        const std::int64_t created = kEpoch - 800 * kDay;
        users.row(kUserColumns);
        users.uuid(admin_id(seed, k));
        users.text("admin" + n + ".s" + s + "@example.com");
        users.text("auth0|gen-" + s + "-admin-" + n);
        users.text("Admin " + n);
        users.text("Admin");
        users.text(n);
        users.null();
        users.text("en-US");
        users.boolean(true);
        users.timestamptz(kEpoch - kDay);
        users.timestamptz(created);
        users.timestamptz(kEpoch - kDay);
        // admin_roles: id, user_id, role, granted_by, granted_at
        admin_roles.row(5);
        admin_roles.uuid(uuid(r));
        admin_roles.uuid(admin_id(seed, k));
        admin_roles.text(roles[k]);
        if (k == 0) {
            admin_roles.null();
        } else {
            admin_roles.uuid(admin_id(seed, 0));
        }
        admin_roles.timestamptz(created);
        b.rows += 2;
    }
}

namespace {

/// One generated user and what the rows of their other tables refer to.
struct UserDraft {
    Uuid user;
    std::string user_text, first, last, given, family, email;
    std::string ids;  ///< in Stripe ids
    std::int64_t created = 0;
    const Place* place = nullptr;
    Uuid support, finance;  ///< the admins who act on the user
};

/// The users row; every draw from `r` in the order the rows were always
/// made, so a seed keeps producing the same data.
UserDraft write_user(std::uint64_t seed, std::uint64_t i, Rng& r, Buffers& b) {
    UserDraft u;
    u.user = uuid(r);
    u.user_text = u.user.text();
    u.first = pick(r, kFirst);
    u.last = pick(r, kLast);
    const std::string tag = std::to_string(seed) + "." + std::to_string(i);
    u.ids = std::to_string(seed) + "_" + std::to_string(i);
    u.created = kEpoch - static_cast<std::int64_t>(r.below(730 * kDay)) - kDay;
    u.place = &pick(r, kPlaces);
    u.support = admin_id(seed, 1);
    u.finance = admin_id(seed, 2);

    u.given = u.first;
    u.family = u.last;
    u.given[0] = static_cast<char>(u.given[0] - 32);
    u.family[0] = static_cast<char>(u.family[0] - 32);
    u.email = u.first + "." + u.last + "." + tag + "@example.com";
    // Auth0's default picture: a Gravatar URL falling back to the initials avatar.
    std::string picture = "https://s.gravatar.com/avatar/";
    append_hex(picture, r, 32);
    picture += "?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2F";
    picture += u.first[0];
    picture += u.last[0];
    picture += ".png";
    const bool logged_in = r.chance(85);
    const std::int64_t last_login =
        u.created +
        static_cast<std::int64_t>(r.below(static_cast<std::uint64_t>(kEpoch - u.created)));

    BinaryRows users(b.users);
    users.row(kUserColumns);
    users.uuid(u.user);
    users.text(u.email);
    users.text("auth0|gen-" + std::to_string(seed) + "-" + std::to_string(i));
    users.text(u.given + " " + u.family);
    users.text(u.given);
    users.text(u.family);
    users.text(picture);
    users.text(u.place->locale);
    users.boolean(r.chance(90));
    if (logged_in) {
        users.timestamptz(last_login);
    } else {
        users.null();
    }
    users.timestamptz(u.created);
    users.timestamptz(logged_in ? last_login : u.created);
    return u;
}

/// The user's subscription: what their payments refer to.
struct Plan {
    Uuid sub;
    std::int64_t price = 0;  ///< cents a month; 0 the free tier
};

/// subscription: free 60%, premium 30%, enterprise 10%
Plan write_subscription(const UserDraft& u, Rng& r, Buffers& b) {
    const std::uint64_t t = r.below(100);
    const char* tier = t < 60 ? "free" : (t < 90 ? "premium" : "enterprise");
    Plan plan;
    plan.price = t < 60 ? 0 : (t < 90 ? 999 : 49900);
    const std::uint64_t s = r.below(100);
    const char* status = s < 80 ? "active" : s < 88 ? "canceled" : s < 94 ? "past_due" : "trialing";
    plan.sub = uuid(r);
    const std::int64_t period_start =
        std::max(u.created, kEpoch - static_cast<std::int64_t>(r.below(30)) * kDay);
    const bool canceled = s >= 80 && s < 88, trialing = s >= 94;
    const std::int64_t canceled_at = period_start - static_cast<std::int64_t>(r.below(20)) * kDay;
    // subscriptions: id, user_id, tier, status, current_period_start,
    // current_period_end, cancel_at_period_end, canceled_at, trial_start,
    // trial_end, stripe_customer_id, stripe_subscription_id, metadata,
    // created_at, updated_at
    BinaryRows subs(b.subscriptions);
    subs.row(15);
    subs.uuid(plan.sub);
    subs.uuid(u.user);
    subs.text(tier);
    subs.text(status);
    if (plan.price == 0) {
        subs.null();
        subs.null();
    } else {
        subs.timestamptz(period_start);
        subs.timestamptz(period_start + 30 * kDay);
    }
    subs.boolean(plan.price != 0 && !canceled && r.chance(5));
    if (canceled) {
        subs.timestamptz(std::max(u.created, canceled_at));
    } else {
        subs.null();
    }
    if (trialing) {
        subs.timestamptz(period_start);
        subs.timestamptz(period_start + 14 * kDay);
    } else {
        subs.null();
        subs.null();
    }
    if (plan.price == 0) {
        subs.null();
        subs.null();
        subs.jsonb("{\"signup_source\": \"web\"}");
    } else {
        subs.text("cus_gen_" + u.ids);
        subs.text("sub_gen_" + u.ids);
        subs.jsonb(std::string("{\"plan\": \"") + tier +
                   "_monthly\", \"signup_source\": \"checkout\", \"seats\": " +
                   std::to_string(t < 90 ? 1 : 5 + r.below(50)) + "}");
    }
    subs.timestamptz(u.created);
    subs.timestamptz(plan.price == 0 ? u.created : period_start);
    return plan;
}

/// The user's cards: what their payments are made with.
struct Cards {
    int n = 0;
    Uuid ids[3];
    std::string last4[3];
};

/// 1-3 payment methods, the first one the default.
Cards write_payment_methods(const UserDraft& u, Rng& r, Buffers& b) {
    Cards c;
    c.n = 1 + static_cast<int>(r.below(3));
    BinaryRows pm(b.methods);
    const std::string billing = "{\"name\": \"" + u.given + " " + u.family + "\", \"email\": \"" +
                                u.email + "\", \"address\": {\"country\": \"" + u.place->country +
                                "\", \"postal_code\": \"" + u.place->postal_code + "\"}}";
    for (int m = 0; m < c.n; ++m) {
        c.ids[m] = uuid(r);
        char l4[5];
        std::snprintf(l4, sizeof l4, "%04u", static_cast<unsigned>(r.below(10000)));
        c.last4[m] = l4;
        const std::int64_t added = u.created + static_cast<std::int64_t>(m) * 90 * kDay;
        // payment_methods: id, user_id, type, stripe_payment_method_id,
        // card_brand, card_last4, card_exp_month, card_exp_year,
        // billing_details, is_default, status, created_at, updated_at
        pm.row(13);
        pm.uuid(c.ids[m]);
        pm.uuid(u.user);
        pm.text("card");
        pm.text("pm_gen_" + u.ids + "_" + std::to_string(m));
        pm.text(pick(r, kBrands));
        pm.text(c.last4[m]);
        pm.int16(static_cast<int>(1 + r.below(12)));
        pm.int16(static_cast<int>(2026 + r.below(5)));
        pm.jsonb(billing);
        pm.boolean(m == 0);
        pm.text("active");
        pm.timestamptz(std::min(added, kEpoch - kDay));
        pm.timestamptz(std::min(added, kEpoch - kDay));
    }
    return c;
}

/// A refund of payment `id` by the finance admin.
void write_refund(const Uuid& id, std::int64_t amount, std::int64_t at, const std::string& tx_ids,
                  const Uuid& finance, Rng& r, BinaryRows& refunds) {
    static const char* reasons[] = {"customer_request", "duplicate", "service_issue", "fraudulent",
                                    "other"};
    // refunds: id, transaction_id, amount, currency, reason,
    // reason_details, status, stripe_refund_id, processed_by,
    // created_at, updated_at
    const std::uint64_t why = r.below(5);
    refunds.row(11);
    refunds.uuid(uuid(r));
    refunds.uuid(id);
    refunds.cents(amount);
    refunds.text("USD");
    refunds.text(reasons[why]);
    refunds.text(kRefundDetails[why]);
    refunds.text("succeeded");
    refunds.text("re_gen_" + tx_ids);
    refunds.uuid(finance);
    refunds.timestamptz(at);
    refunds.timestamptz(at);
}

/// Payment `k` of the user's history (and its refund); the refunds it wrote.
int write_payment(const UserDraft& u, const Plan& plan, const Cards& cards, int k, Rng& r,
                  BinaryRows& tx, BinaryRows& refunds) {
    const Uuid id = uuid(r);
    // method m is added 90 days after m-1: pay only with one added by then
    const int usable = std::min(cards.n, 1 + k / 3);
    const int m = static_cast<int>(r.below(static_cast<std::uint64_t>(usable)));
    const std::int64_t amount =
        plan.price == 0 ? 199 + static_cast<std::int64_t>(r.below(2000)) : plan.price;
    const std::uint64_t roll = r.below(100);
    const bool failed = roll >= 85 && roll < 93, refunded = roll >= 93 && roll < 98,
               pending = roll >= 98;
    const char* tx_status = failed     ? "failed"
                            : refunded ? "refunded"
                            : pending  ? "pending"
                                       : "succeeded";
    const std::int64_t when = u.created + static_cast<std::int64_t>(k) * 30 * kDay +
                              static_cast<std::int64_t>(r.below(kDay));
    const std::int64_t refunded_at = std::min(when + 2 * kDay, kEpoch - 1);
    const std::string tx_ids = u.ids + "_" + std::to_string(k);
    // payment_transactions: id, user_id, subscription_id, payment_method_id,
    // amount, currency, status, stripe_payment_intent_id, stripe_charge_id,
    // payment_method_type, payment_method_last4, failure_code,
    // failure_message, receipt_url, metadata, created_at, updated_at
    tx.row(17);
    tx.uuid(id);
    tx.uuid(u.user);
    if (plan.price == 0) {
        tx.null();
    } else {
        tx.uuid(plan.sub);
    }
    tx.uuid(cards.ids[m]);
    tx.cents(amount);
    tx.text("USD");
    tx.text(tx_status);
    tx.text("pi_gen_" + tx_ids);
    if (pending) {
        tx.null();
    } else {
        tx.text("ch_gen_" + tx_ids);
    }
    tx.text("card");
    tx.text(cards.last4[m]);
    if (failed) {
        const auto& decline = pick(r, kDeclines);
        tx.text(decline[0]);
        tx.text(decline[1]);
    } else {
        tx.null();
        tx.null();
    }
    if (failed || pending) {
        tx.null();
    } else {
        std::string receipt = "https://pay.stripe.com/receipts/payment/";
        append_token(receipt, r, 96);
        tx.text(receipt);
    }
    if (plan.price == 0) {
        tx.jsonb("{\"billing_reason\": \"manual\", \"product\": \"credit_pack\"}");
    } else {
        tx.jsonb("{\"invoice_id\": \"in_gen_" + tx_ids + "\", \"billing_reason\": \"" +
                 (k == 0 ? "subscription_create" : "subscription_cycle") + "\"}");
    }
    tx.timestamptz(when);
    tx.timestamptz(refunded ? refunded_at : when);
    if (!refunded) return 0;
    write_refund(id, amount, refunded_at, tx_ids, u.finance, r, refunds);
    return 1;
}

/// One audit entry by the support admin about the user.
void write_audit_entry(const UserDraft& u, Rng& r, BinaryRows& audit) {
    const char* action = pick(r, kActions);
    std::string details = "{\"source\": \"admin-center\", \"request_id\": \"req_";
    append_token(details, r, 14);
    details += "\", \"reason\": \"support ticket #";
    details += std::to_string(10000 + r.below(90000));
    details += "\"}";
    // admin_audit_logs: id, admin_user_id, action, resource_type, resource_id,
    // affected_user_id, details, ip_address, user_agent, created_at
    audit.row(10);
    audit.uuid(uuid(r));
    audit.uuid(u.support);
    audit.text(action);
    audit.text("user");
    audit.text(u.user_text);
    audit.uuid(u.user);
    audit.jsonb(details);
    const unsigned x = static_cast<unsigned>(r.below(256)), y = static_cast<unsigned>(r.below(256)),
                   z = static_cast<unsigned>(1 + r.below(254));
    audit.inet4(10, x, y, z);
    audit.text(pick(r, kUserAgents));
    audit.timestamptz(
        std::min(kEpoch - 1, u.created + static_cast<std::int64_t>(r.below(365 * kDay))));
}

}  // namespace

void generate_user(std::uint64_t seed, std::uint64_t i, Buffers& b) {
    Rng r = stream(seed, 3, i);
    const UserDraft u = write_user(seed, i, r, b);
    const Plan plan = write_subscription(u, r, b);
    const Cards cards = write_payment_methods(u, r, b);
    // several transactions; paid tiers monthly, free users the odd one-off
    // (monthly from sign-up, and none after the fixed instant)
    const int months = static_cast<int>((kEpoch - u.created - kDay) / (30 * kDay));
    const int n_tx = std::min(months + 1, plan.price == 0 ? static_cast<int>(r.below(3))
                                                          : 2 + static_cast<int>(r.below(7)));
    BinaryRows tx(b.transactions), refunds(b.refunds);
    for (int k = 0; k < n_tx; ++k)
        b.rows += static_cast<std::uint64_t>(write_payment(u, plan, cards, k, r, tx, refunds));
    const int n_audit = 1 + static_cast<int>(r.below(3));
    BinaryRows audit(b.audit);
    for (int a = 0; a < n_audit; ++a)
        write_audit_entry(u, r, audit);
    b.rows += 2 + static_cast<std::uint64_t>(cards.n + n_tx + n_audit);
}

std::uint64_t flush(pg::Connection& conn, Buffers& b) {
    struct Target {
        const char* copy;
        std::string* data;
    } targets[] = {
        {"COPY users (id, email, auth0_id, name, given_name, family_name, picture_url, locale, "
         "email_verified, last_login_at, created_at, updated_at) FROM STDIN (FORMAT binary)",
         &b.users},
        {"COPY admin_roles (id, user_id, role, granted_by, granted_at) FROM STDIN (FORMAT binary)",
         &b.roles},
        {"COPY subscriptions (id, user_id, tier, status, current_period_start, current_period_end, "
         "cancel_at_period_end, canceled_at, trial_start, trial_end, stripe_customer_id, "
         "stripe_subscription_id, metadata, created_at, updated_at) FROM STDIN (FORMAT binary)",
         &b.subscriptions},
        {"COPY payment_methods (id, user_id, type, stripe_payment_method_id, card_brand, "
         "card_last4, card_exp_month, card_exp_year, billing_details, is_default, status, "
         "created_at, updated_at) FROM STDIN (FORMAT binary)",
         &b.methods},
        {"COPY payment_transactions (id, user_id, subscription_id, payment_method_id, amount, "
         "currency, status, stripe_payment_intent_id, stripe_charge_id, payment_method_type, "
         "payment_method_last4, failure_code, failure_message, receipt_url, metadata, created_at, "
         "updated_at) FROM STDIN (FORMAT binary)",
         &b.transactions},
        {"COPY refunds (id, transaction_id, amount, currency, reason, reason_details, status, "
         "stripe_refund_id, processed_by, created_at, updated_at) FROM STDIN (FORMAT binary)",
         &b.refunds},
        {"COPY admin_audit_logs (id, admin_user_id, action, resource_type, resource_id, "
         "affected_user_id, details, ip_address, user_agent, created_at) FROM STDIN (FORMAT "
         "binary)",
         &b.audit},
    };
    // Binary COPY: signature, flags, header extension length; rows; trailer.
    static const std::string header("PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19);
    static const std::string trailer("\377\377", 2);
    std::uint64_t bytes = 0;
    for (auto& t : targets) {
        throw_if_interrupted();
        if (t.data->empty()) continue;
        copy_from(conn, t.copy, {header, *t.data, trailer});
        bytes += t.data->size();
        t.data->clear();
    }
    return bytes;
}

}  // namespace ctldb::seed
