// dna_lane_off: a lane's address offset, sum_j C[j] * inc[j], with the lane's coordinates
// C fixed at generation time (so the products are constant multiplications).
`default_nettype none
module dna_lane_off #(
    parameter integer NLD = 4,
    parameter integer VW = 32,
    parameter integer CB = 10,
    parameter [NLD*CB-1:0] C = 0
) (
    input  wire [NLD*VW-1:0] inc,
    output reg  [VW-1:0]     off
);
    integer j;
    always @* begin
        off = {VW{1'b0}};
        for (j = 0; j < NLD; j = j + 1)
            off = off + inc[j*VW +: VW] * {{(VW-CB){1'b0}}, C[j*CB +: CB]};
    end
endmodule
`default_nettype wire
