// Embedding opscope: assemble a program, register a host function, set limits, run, read the result.
#include <opscope/opscope.hpp>

#include <iostream>

int main() {
    const char* source = R"(
.func main 0 1
    push 20
    call twice          ; host function
    push 2
    add
    ret                 ; main's result
.end
)";
    opscope::Vm<> vm(opscope::Limits{.fuel = 1'000'000});
    vm.register_native("twice", 1, [](opscope::Machine&, std::span<const opscope::Value> args) {
        if (!args[0].is_int()) throw opscope::Fault("twice: expected an int");
        return opscope::Value::integer(args[0].as.i * 2);
    });
    try {
        vm.load(opscope::assemble(source, "embedded.opasm"));
        const opscope::Value result = vm.run();
        std::cout << "result: " << opscope::to_display(result) << '\n';  // result: 42
    } catch (const opscope::ProgramError& e) {
        std::cerr << e.what() << '\n';
        return 3;
    } catch (const opscope::RuntimeError& e) {
        std::cerr << e.format() << '\n';
        return 1;
    }
}
