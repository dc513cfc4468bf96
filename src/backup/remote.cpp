#include "backup/remote.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "base/error.hpp"
#include "base/fs.hpp"
#include "base/log.hpp"
#include "base/output.hpp"
#include "base/signals.hpp"
#include "base/text.hpp"

namespace ctldb::backup {

namespace {

/// How to resolve the settings, and the settings once resolved.
std::function<storage::S3Settings()>& resolver() {
    static std::function<storage::S3Settings()> r;
    return r;
}
std::optional<storage::S3Settings>& resolved() {
    static std::optional<storage::S3Settings> s;
    return s;
}

storage::S3Client client_for(const storage::S3Location& dir) {
    return storage::S3Client(object_storage(), dir.bucket);
}

/// A dump by its name alone (no manifest to go by).
bool dump_name(const std::string& name) {
    const std::string n = without_age(name);
    for (const char* ext : {".sql", ".sql.gz", ".sql.zst", ".dump"}) {
        if (ends_with(n, ext)) return true;
    }
    return false;
}

/// The entry of a data object, its manifest looked up in `objects`.
BackupEntry remote_entry(const RemoteObject& o, const storage::ObjectInfo& info,
                         const std::map<std::string, storage::ObjectInfo>& objects,
                         storage::S3Client& client) {
    BackupEntry b;
    b.path = o.url();
    b.manifest_path = manifest_path_for(b.path);
    b.mtime = info.modified;
    b.size = info.size;
    b.kind = DumpKind{ends_with(without_age(o.name), ".dump"), compression_of(o.name),
                      encrypted_name(o.name)};
    const auto when = parse_backup_time(o.name);
    const std::string manifest_name = manifest_path_for(o.name);
    if (!when || objects.count(manifest_name) == 0) {
        const auto t = when ? when : time_in_name(o.name);
        b.foreign = !when;
        b.time_from_name = t.has_value();
        b.taken_at = t ? *t : info.modified;
        b.problem = "no manifest";
        return b;
    }
    b.taken_at = *when;
    const std::string drill_name = drill_path_for(o.name);
    if (objects.count(drill_name) != 0) {
        try {
            b.drill = DrillRecord::from_json(client.get(o.dir.key(drill_name), fs::kMaxSmallFile));
        } catch (const Error& e) {
            if (e.code() != ExitCode::failure) throw;
        }
    }
    try {
        const std::string key = o.dir.key(manifest_name);
        b.manifest = BackupManifest::from_json(client.get(key, fs::kMaxManifest), b.manifest_path);
        b.database = b.manifest->database;
        if (b.manifest->size_bytes != b.size) {
            b.problem = "size differs from the manifest";
        } else if (b.manifest->file != o.name) {
            b.problem = "manifest names another file";
        }
    } catch (const Error& e) {
        if (e.code() != ExitCode::failure) throw;  // refused, unreachable: not the backup's fault
        b.problem = "bad manifest";
    }
    return b;
}

}  // namespace

void use_object_storage(const config::Config& cfg, const config::EnvLookup& env) {
    resolved().reset();
    // Copies: the settings are resolved only when an s3:// location is used.
    resolver() = [&cfg, env] { return storage::s3_settings(cfg, env); };
}

bool is_remote(const std::string& location) {
    if (storage::is_s3_url(location)) return true;
    const auto scheme_end = location.find("://");
    if (scheme_end != std::string::npos && scheme_end > 0 && location.find('/') == scheme_end + 1) {
        throw usage_error(printable(hide_url_credentials(location)) +
                              " is neither a directory nor an s3:// location",
                          "object storage is written s3://bucket/prefix, in lower case");
    }
    return false;
}

std::string location_problem(const std::string& location) {
    try {
        if (is_remote(location)) storage::parse_s3_url(location);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

const storage::S3Settings& object_storage() {
    if (!resolved()) {
        if (!resolver()) throw failure("object storage is not set up for this command");
        resolved() = resolver()();
    }
    return *resolved();
}

RemoteObject remote_object(const std::string& url) {
    const auto slash = url.rfind('/');
    if (!is_remote(url) || slash < 5 || slash + 1 >= url.size()) {
        throw usage_error("not a backup in object storage: " + url,
                          "name one as s3://bucket/prefix/backup-YYYYmmdd-HHMMSS.sql.gz");
    }
    RemoteObject o;
    o.name = url.substr(slash + 1);
    o.dir = storage::parse_s3_url(url.substr(0, slash));
    if (o.dir.bucket.empty() || url.find('/', 5) == std::string::npos) {
        throw usage_error("not a backup in object storage: " + url);
    }
    return o;
}

std::vector<BackupEntry> list_remote_backups(const std::string& url) {
    const storage::S3Location dir = storage::parse_s3_url(url);
    storage::S3Client client = client_for(dir);
    const std::string prefix = dir.children();
    std::map<std::string, storage::ObjectInfo> objects;  // direct children by name
    for (auto& o : client.list(prefix)) {
        const std::string name = o.key.substr(prefix.size());
        if (name.empty() || name.find('/') != std::string::npos) continue;
        objects.emplace(name, std::move(o));
    }
    std::vector<BackupEntry> out;
    for (const auto& [name, info] : objects) {
        if (name[0] == '.' || ends_with(name, ".json") || !dump_name(name)) continue;
        out.push_back(remote_entry(RemoteObject{dir, name}, info, objects, client));
    }
    std::sort(out.begin(), out.end(), [](const BackupEntry& a, const BackupEntry& b) {
        if (a.taken_at != b.taken_at) return a.taken_at > b.taken_at;
        return a.path > b.path;
    });
    return out;
}

std::optional<BackupManifest> remote_manifest(const std::string& data_url) {
    const RemoteObject o = remote_object(data_url);
    storage::S3Client client = client_for(o.dir);
    const auto text = client.get_if_exists(o.dir.key(manifest_path_for(o.name)), fs::kMaxManifest);
    if (!text) return std::nullopt;
    return BackupManifest::from_json(*text, manifest_path_for(data_url));
}

DumpKind remote_kind(const std::string& data_url) {
    const RemoteObject o = remote_object(data_url);
    storage::S3Client client = client_for(o.dir);
    std::string head;
    try {
        client.get_range(o.key(), 0, 22, [&](const char* p, std::size_t n) { head.append(p, n); });
    } catch (const storage::TransportError& e) {
        throw Error(ExitCode::connect, "cannot read " + data_url + ": " + e.what());
    }
    return kind_of_head(head, o.name);
}

void remove_remote_backup(const std::string& data_url) {
    const RemoteObject o = remote_object(data_url);
    storage::S3Client client = client_for(o.dir);
    client.remove(o.key());
    client.remove(o.dir.key(manifest_path_for(o.name)));
    client.remove(o.dir.key(drill_path_for(o.name)));
}

void put_remote_drill(const std::string& data_url, const DrillRecord& d) {
    const RemoteObject o = remote_object(data_url);
    client_for(o.dir).put(o.dir.key(drill_path_for(o.name)), d.to_json(), "application/json");
}

void put_remote_manifest(const std::string& data_url, const BackupManifest& manifest) {
    const RemoteObject o = remote_object(data_url);
    client_for(o.dir).put(o.dir.key(manifest_path_for(o.name)), manifest.to_json(),
                          "application/json");
}

std::vector<std::string> abort_stale_uploads(const std::string& url, std::time_t before) {
    const storage::S3Location dir = storage::parse_s3_url(url);
    storage::S3Client client = client_for(dir);
    const std::string prefix = dir.children();
    std::vector<std::string> cleared;
    // The manifests whose data exists or is being uploaded.
    std::set<std::string> with_data;
    for (const auto& u : client.list_multipart(prefix)) {
        const std::string name = u.key.substr(std::min(prefix.size(), u.key.size()));
        if (name.find('/') != std::string::npos || !parse_backup_time(name)) continue;
        // Begun in this second or later: maybe a live run's (S3 gives no
        // way to tell a live upload from a dead one; see docs/backup.md).
        if (u.initiated > before) {
            with_data.insert(manifest_path_for(name));
            continue;
        }
        client.abort_multipart(u.key, u.upload_id);
        cleared.push_back("s3://" + dir.bucket + "/" + u.key + " (incomplete upload)");
    }
    // Manifests (and drill records) of uploads that never completed: a
    // killed run's.
    std::vector<std::string> records;
    for (const auto& o : client.list(prefix)) {
        const std::string name = o.key.substr(prefix.size());
        if (name.find('/') != std::string::npos) continue;
        if (dump_name(name)) with_data.insert(manifest_path_for(name));
        // backup-YYYYmmdd-HHMMSS.json (a manifest) or .drill.json (its drill)
        if ((name.size() == 27 && ends_with(name, ".json")) ||
            (name.size() == 33 && ends_with(name, ".drill.json"))) {
            if (parse_backup_time(name.substr(0, 22) + ".dump")) records.push_back(name);
        }
    }
    for (const auto& name : records) {
        const bool manifest = name.size() == 27;
        if (with_data.count(name.substr(0, 22) + ".json") != 0) continue;
        client.remove(dir.key(name));
        cleared.push_back("s3://" + dir.bucket + "/" + dir.key(name) +
                          (manifest ? " (manifest without data)" : " (drill record without data)"));
    }
    return cleared;
}

RemoteBackup::RemoteBackup(const std::string& url, const std::string& ext)
    : dir_(storage::parse_s3_url(url)), ext_(ext) {
    storage::S3Client client = client_for(dir_);
    for (int attempt = 0;; ++attempt) {
        throw_if_interrupted();
        time_ = std::time(nullptr);
        stem_ = backup_stem(time_);
        if (!client.head(dir_.key(stem_ + ext_)) && !client.head(dir_.key(stem_ + ".json"))) break;
        if (attempt == 100) throw failure("no free backup name in " + url + " for 100 seconds");
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    upload_ = std::make_unique<storage::ObjectUpload>(object_storage(), dir_.bucket,
                                                      dir_.key(stem_ + ext_));
}

void RemoteBackup::publish(const std::string& manifest_json) {
    // Every part confirmed, then the manifest, then the data object appears
    // (the completion): a data object never exists without its manifest. A
    // kill before the completion leaves a manifest without data (never
    // listed) and an incomplete upload; the next run clears both.
    upload_->send_rest();
    const std::string manifest_key = dir_.key(stem_ + ".json");
    // The manifest is created only where none is (If-None-Match): a second
    // run that took the same name meanwhile owns it, and this run steps
    // back without touching what is that run's.
    if (!client_for(dir_).put_new(manifest_key, manifest_json, "application/json")) {
        upload_->abort();
        throw failure("another backup run published " + final_url() +
                          " while this one ran; this run's upload was aborted and that "
                          "backup was left as it is",
                      "run one backup at a time into a prefix (a CronJob's "
                      "concurrencyPolicy: Forbid), or give each its own --dir");
    }
    try {
        throw_if_interrupted();
        upload_->complete();
    } catch (...) {
        try {
            storage::S3Client cleanup(storage::for_cleanup(object_storage()), dir_.bucket);
            cleanup.remove(dir_.key(stem_ + ext_));
            cleanup.remove(manifest_key);
        } catch (const std::exception& e) {
            log::warn("could not delete what is left of " + final_url() + ": " + e.what());
        }
        throw;
    }
}

}  // namespace ctldb::backup
