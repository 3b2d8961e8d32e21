/** The package version (checked against package.json by a test). @category Client */
export const VERSION = '0.1.0'
