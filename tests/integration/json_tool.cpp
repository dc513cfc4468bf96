// Test helper: `json_tool check` exits 0 when stdin is exactly one JSON
// document; `json_tool get /json/pointer` prints the value there (strings
// without quotes) or exits 1 when absent.
#include <iostream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: json_tool check | get POINTER\n";
        return 2;
    }
    const std::string input{std::istreambuf_iterator<char>(std::cin),
                            std::istreambuf_iterator<char>()};
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(input);  // rejects trailing garbage
    } catch (const nlohmann::json::exception& e) {
        std::cerr << "not one JSON document: " << e.what() << "\n";
        return 1;
    }
    const std::string cmd = argv[1];
    if (cmd == "check") return 0;
    if (cmd == "get" && argc == 3) {
        try {
            const auto& v = doc.at(nlohmann::json::json_pointer(argv[2]));
            std::cout << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
            return 0;
        } catch (const nlohmann::json::exception&) {
            return 1;
        }
    }
    std::cerr << "usage: json_tool check | get POINTER\n";
    return 2;
}
