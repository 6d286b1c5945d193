// dna_beat_word: for bank B of a buffer whose word a lives in bank a % 2^BA, row
// a / 2^BA, which word of a beat of consecutive words starting at `addr` falls in the
// bank (idx: addr + idx is in bank B) and that word's row.
`default_nettype none
module dna_beat_word #(
    parameter integer A = 7,    // address bits
    parameter integer BA = 3,   // bank bits
    parameter integer B = 0     // the bank
) (
    input  wire [A-1:0]    addr,
    output wire [BA-1:0]   idx,
    output wire [A-BA-1:0] row
);
    localparam [31:0] B32 = B;
    assign idx = B32[BA-1:0] - addr[BA-1:0];
    // addr's row, plus one where addr + idx passes a multiple of 2^BA
    wire [BA:0] lo = {1'b0, addr[BA-1:0]} + {1'b0, idx};
    assign row = addr[A-1:BA] + {{(A-BA-1){1'b0}}, lo[BA]};
endmodule
`default_nettype wire
