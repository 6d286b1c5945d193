// dna_axil: AXI4-Lite control/status registers of the DNA accelerator.
//   0x00 CTRL/STATUS  write bit 0 = 1: start; read: bit 0 busy, bit 1 done (every frame)
//   0x04 ID           0x444E4101 ("DNA", version 1)
//   0x08 CYCLES_LO    cycles from start to done (64-bit counter)
//   0x0C CYCLES_HI
//   0x10 OPS_DONE     ops (layers) completed since start
//   0x14 OPS_CAP      ops the stamp registers below can hold (2^OPB)
//   0x18 BUS_BYTES    AXI data bytes
//   0x1C FRAMES       frames to run from the next start (read/write; 1 after reset)
//   0x20 FRAMES_DONE  frames the last engine has finished since start
//   0x100 + 8*i       op i: cycle it last started (the last frame's)
//   0x104 + 8*i       op i: cycle it last finished
`default_nettype none
module dna_axil #(
    parameter integer OPB = 4,   // op index bits: stamps for 2^OPB ops
    parameter integer BUSB = 64,
    parameter integer H = 1      // engines (op stamps from each)
) (
    input  wire        clk,
    input  wire        rst_n,
    input  wire [11:0] s_axil_awaddr,
    input  wire        s_axil_awvalid,
    output wire        s_axil_awready,
    input  wire [31:0] s_axil_wdata,
    input  wire [3:0]  s_axil_wstrb,
    input  wire        s_axil_wvalid,
    output wire        s_axil_wready,
    output wire [1:0]  s_axil_bresp,
    output reg         s_axil_bvalid,
    input  wire        s_axil_bready,
    input  wire [11:0] s_axil_araddr,
    input  wire        s_axil_arvalid,
    output wire        s_axil_arready,
    output reg  [31:0] s_axil_rdata,
    output wire [1:0]  s_axil_rresp,
    output reg         s_axil_rvalid,
    input  wire        s_axil_rready,
    output wire        start,      // one-cycle pulse
    output reg  [31:0] frames,
    input  wire        busy,
    input  wire        done,       // all frames finished (level until the next start)
    input  wire [31:0] frames_done,
    input  wire [H-1:0]    op_begin,   // pulse per engine: its op `op_idx` starts
    input  wire [H-1:0]    op_end,     // pulse per engine: its op `op_idx` ends
    input  wire [H*16-1:0] op_idx,
    input  wire [31:0] ops_done
);
    reg [63:0] cycles /*verilator public_flat_rd*/;  // read by sim/fast_tb.cpp
    reg [31:0] t_begin [0:(1<<OPB)-1];
    reg [31:0] t_end [0:(1<<OPB)-1];
    wire [7:0] rd_op = s_axil_araddr[10:3] - 8'd32;
    wire wr = s_axil_awvalid && s_axil_wvalid && !s_axil_bvalid;
    assign s_axil_awready = wr;
    assign s_axil_wready = wr;
    assign s_axil_bresp = 2'b00;
    assign s_axil_rresp = 2'b00;
    assign s_axil_arready = !s_axil_rvalid;
    assign start = wr && s_axil_awaddr[11:2] == 10'd0 && s_axil_wstrb[0] && s_axil_wdata[0];
    integer e;
    always @(posedge clk) begin
        if (!rst_n) begin
            s_axil_bvalid <= 1'b0;
            s_axil_rvalid <= 1'b0;
            cycles <= 64'd0;
            frames <= 32'd1;
        end else begin
            if (wr && s_axil_awaddr[11:2] == 10'd7 && &s_axil_wstrb) frames <= s_axil_wdata;
            if (wr) s_axil_bvalid <= 1'b1;
            else if (s_axil_bready) s_axil_bvalid <= 1'b0;
            if (start) cycles <= 64'd0;
            else if (busy) cycles <= cycles + 64'd1;
            for (e = 0; e < H; e = e + 1) begin
                if (op_begin[e]) t_begin[op_idx[e*16 +: OPB]] <= cycles[31:0];
                if (op_end[e]) t_end[op_idx[e*16 +: OPB]] <= cycles[31:0];
            end
            if (s_axil_arvalid && !s_axil_rvalid) begin
                s_axil_rvalid <= 1'b1;
                case (s_axil_araddr[11:2])
                    10'h000: s_axil_rdata <= {30'd0, done, busy};
                    10'h001: s_axil_rdata <= 32'h444E4101;
                    10'h002: s_axil_rdata <= cycles[31:0];
                    10'h003: s_axil_rdata <= cycles[63:32];
                    10'h004: s_axil_rdata <= ops_done;
                    10'h005: s_axil_rdata <= 32'd1 << OPB;
                    10'h006: s_axil_rdata <= BUSB;
                    10'h007: s_axil_rdata <= frames;
                    10'h008: s_axil_rdata <= frames_done;
                    default: s_axil_rdata <= (s_axil_araddr[11:8] == 4'd0) ? 32'd0 :
                        (s_axil_araddr[2] ? t_end[rd_op[OPB-1:0]] : t_begin[rd_op[OPB-1:0]]);
                endcase
            end else if (s_axil_rready) begin
                s_axil_rvalid <= 1'b0;
            end
        end
    end
    wire unused_axil = &{1'b0, s_axil_awaddr[1:0], s_axil_araddr[1:0], s_axil_araddr[11],
                         op_idx, rd_op};
endmodule
`default_nettype wire
