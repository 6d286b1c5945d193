// dna_fifo: synchronous show-ahead FIFO, DEPTH a power of two.
`default_nettype none
module dna_fifo #(
    parameter integer W = 8,
    parameter integer AW = 4  // log2(depth)
) (
    input  wire         clk,
    input  wire         rst_n,
    input  wire         push,
    input  wire [W-1:0] din,
    input  wire         pop,
    output wire [W-1:0] dout,
    output wire         empty,
    output wire         full
);
    reg [W-1:0] mem [0:(1<<AW)-1];
    reg [AW:0] rd, wr;
    assign empty = rd == wr;
    assign full = (rd[AW-1:0] == wr[AW-1:0]) && (rd[AW] != wr[AW]);
    assign dout = mem[rd[AW-1:0]];
    always @(posedge clk) begin
        if (!rst_n) begin
            rd <= {AW+1{1'b0}};
            wr <= {AW+1{1'b0}};
        end else begin
            if (push && !full) begin
                mem[wr[AW-1:0]] <= din;
                wr <= wr + 1'b1;
            end
            if (pop && !empty) rd <= rd + 1'b1;
        end
    end
endmodule
`default_nettype wire
