#include "security/sasl_digest.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>

#include "security/secret_file.hpp"

namespace corral::security {

namespace {

std::string md5(const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string random_nonce() {
  unsigned char raw[24];
  RAND_bytes(raw, sizeof raw);
  std::string out;
  for (unsigned char c : raw) // hex: no characters that need quoting
    out += hex(std::string(1, static_cast<char>(c)));
  return out;
}

// "key=value,key="quoted, value",..." -> map; false if malformed. Keys are lower-cased.
bool parse_directives(const std::string& s, std::map<std::string, std::string>& out) {
  size_t i = 0;
  auto skip = [&] {
    while (i < s.size() && (std::isspace(static_cast<unsigned char>(s[i])) || s[i] == ','))
      ++i;
  };
  for (skip(); i < s.size(); skip()) {
    auto eq = s.find('=', i);
    if (eq == std::string::npos)
      return false;
    std::string key = s.substr(i, eq - i);
    while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back())))
      key.pop_back();
    for (auto& c : key)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    i = eq + 1;
    std::string value;
    if (i < s.size() && s[i] == '"') {
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size())
          ++i;
        value.push_back(s[i++]);
      }
      if (i >= s.size())
        return false; // no closing quote
      ++i;
    } else {
      while (i < s.size() && s[i] != ',')
        value.push_back(s[i++]);
      while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
        value.pop_back();
    }
    if (key.empty() || out.count(key) != 0)
      return false; // RFC 2831: each directive at most once
    out.emplace(std::move(key), std::move(value));
  }
  return true;
}

class digest_md5_server final : public sasl_server {
public:
  digest_md5_server(std::shared_ptr<const sasl_users> users, digest_md5_options o)
      : users_(std::move(users)), o_(std::move(o)) {
    if (o_.nonce.empty())
      o_.nonce = random_nonce();
  }

  status step(const std::string& token, std::string& reply) override {
    if (stage_ == 0) {
      stage_ = 1;
      if (!token.empty())
        return fail("DIGEST-MD5 starts with an empty client token");
      reply = "realm=\"" + o_.realm + "\",nonce=\"" + o_.nonce + "\",qop=\"auth\",charset=utf-8,algorithm=md5-sess";
      return status::more;
    }
    if (stage_ != 1)
      return fail("the exchange is over");
    stage_ = 2;
    return check(token, reply);
  }
  std::string user() const override { return user_; }
  std::string reason() const override { return reason_; }

private:
  status fail(std::string why) {
    reason_ = std::move(why);
    stage_ = 2;
    return status::failed;
  }

  status check(const std::string& token, std::string& reply) {
    std::map<std::string, std::string> d;
    if (!parse_directives(token, d))
      return fail("a malformed DIGEST-MD5 response");
    auto get = [&](const char* k) {
      auto it = d.find(k);
      return it == d.end() ? std::string() : it->second;
    };
    auto name = get("username");
    auto cnonce = get("cnonce");
    auto nc = get("nc");
    auto qop = d.count("qop") ? get("qop") : "auth";
    auto uri = get("digest-uri");
    auto authzid = get("authzid");
    if (name.empty() || cnonce.empty() || get("response").size() != 32)
      return fail("a DIGEST-MD5 response without username, cnonce or response");
    if (get("nonce") != o_.nonce)
      return fail("user " + name + ": the nonce is not the one this server sent");
    if (nc != "00000001")
      return fail("user " + name + ": nonce count " + nc + " (one authentication per nonce)");
    if (qop != "auth")
      return fail("user " + name + ": qop " + qop + " (only auth is offered)");
    if (d.count("realm") && get("realm") != o_.realm)
      return fail("user " + name + ": realm " + get("realm") + ", this server's is " + o_.realm);
    if (uri != o_.service + "/" + o_.realm)
      return fail("user " + name + ": digest-uri " + uri + ", expected " + o_.service + "/" + o_.realm);
    if (!authzid.empty() && authzid != name)
      return fail("user " + name + " asked to act as " + authzid);
    auto pw = users_->find(name);
    if (pw == users_->end())
      return fail("unknown user " + name);
    auto a1 = md5(name + ":" + get("realm") + ":" + pw->second) + ":" + o_.nonce + ":" + cnonce +
              (authzid.empty() ? "" : ":" + authzid);
    auto ha1 = hex(md5(a1));
    auto kd = [&](const std::string& a2) {
      return hex(md5(ha1 + ":" + o_.nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + hex(md5(a2))));
    };
    if (kd("AUTHENTICATE:" + uri) != get("response"))
      return fail("user " + name + ": wrong password");
    user_ = name;
    reply = "rspauth=" + kd(":" + uri);
    return status::done;
  }

  std::shared_ptr<const sasl_users> users_;
  digest_md5_options o_;
  int stage_ = 0; // 0: before the challenge, 1: challenge sent, 2: over
  std::string user_, reason_;
};

} // namespace

result<sasl_users> parse_jaas_server_users(const std::string& text) {
  // Find "Server" followed by "{", up to the closing "};".
  size_t at = 0;
  for (;;) {
    at = text.find("Server", at);
    if (at == std::string::npos)
      return error_info{error_code::bad_arguments, "no \"Server { ... };\" section"};
    auto brace = text.find_first_not_of(" \t\r\n", at + 6);
    bool word_start = at == 0 || !std::isalnum(static_cast<unsigned char>(text[at - 1]));
    if (word_start && brace != std::string::npos && text[brace] == '{') {
      at = brace + 1;
      break;
    }
    at += 6;
  }
  auto end = text.find('}', at);
  if (end == std::string::npos)
    return error_info{error_code::bad_arguments, "the Server section has no closing brace"};
  auto body = text.substr(at, end - at);
  sasl_users users;
  for (size_t i = body.find("user_"); i != std::string::npos; i = body.find("user_", i)) {
    bool word_start = i == 0 || std::isspace(static_cast<unsigned char>(body[i - 1]));
    auto eq = body.find('=', i);
    if (!word_start || eq == std::string::npos) {
      i += 5;
      continue;
    }
    auto name = body.substr(i + 5, eq - i - 5);
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back())))
      name.pop_back();
    auto q1 = body.find('"', eq);
    auto q2 = q1 == std::string::npos ? q1 : body.find('"', q1 + 1);
    if (name.empty() || q2 == std::string::npos)
      return error_info{error_code::bad_arguments, "malformed user_ entry near '" + body.substr(i, 40) + "'"};
    users[name] = body.substr(q1 + 1, q2 - q1 - 1);
    i = q2 + 1;
  }
  if (users.empty())
    return error_info{error_code::bad_arguments, "the Server section names no user_NAME=\"password\""};
  return users;
}

result<sasl_users> read_jaas_server_users(const std::string& path) {
  auto text = read_private_file(path, "corral.sasl-jaas-file");
  if (!text)
    return text.error();
  auto users = parse_jaas_server_users(*text);
  if (!users)
    return error_info{error_code::bad_arguments, "corral.sasl-jaas-file " + path + ": " + users.error().detail};
  return users;
}

std::unique_ptr<sasl_server> make_digest_md5_server(std::shared_ptr<const sasl_users> users, digest_md5_options opts) {
  return std::make_unique<digest_md5_server>(std::move(users), std::move(opts));
}

sasl_server_factory digest_md5_factory(std::shared_ptr<const sasl_users> users) {
  return [users] { return make_digest_md5_server(users); };
}

} // namespace corral::security
