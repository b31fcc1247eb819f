/**
 * A JSON value, as telli's free-form fields (`contact_details`, a property's `value`, a call's
 * `collected_data`) hold it. The sandbox's own: it imports nothing of the layer.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}
