/** The program's version, printed by `banwatch --version`. */
export const VERSION = "0.1.0";
